//! Defaults of `autoscaling` v1 and v2 (upstream `autoscaling/v{1,2}/defaults.go`).

use serde_json::{Value, json};

use super::{Object, default_value, ensure_object, is_empty_collection, str_of};

/// CPU utilization target of an HPA that names no metric.
const DEFAULT_CPU_UTILIZATION: i64 = 80;

/// HPA defaults for the version in `apiVersion`: v1 only defaults `minReplicas`;
/// v2 also the CPU metric and, when `behavior` is given, its scaling rules.
pub(crate) fn default_horizontal_pod_autoscaler(hpa: &mut Object) {
    let v1 = str_of(hpa, "apiVersion") == "autoscaling/v1";
    let Some(spec) = ensure_object(hpa, "spec") else {
        return;
    };
    default_value(spec, "minReplicas", json!(1));
    if v1 {
        return;
    }
    if is_empty_collection(spec.get("metrics")) {
        spec.insert(
            "metrics".into(),
            json!([{
                "type": "Resource",
                "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": DEFAULT_CPU_UTILIZATION}},
            }]),
        );
    }
    if let Some(behavior) = spec.get_mut("behavior").and_then(Value::as_object_mut) {
        let scale_up = json!({
            "stabilizationWindowSeconds": 0,
            "selectPolicy": "Max",
            "policies": [
                {"type": "Pods", "value": 4, "periodSeconds": 15},
                {"type": "Percent", "value": 100, "periodSeconds": 15},
            ],
        });
        // The scale-down window is left unset: the controller's flag decides it.
        let scale_down = json!({
            "selectPolicy": "Max",
            "policies": [{"type": "Percent", "value": 100, "periodSeconds": 15}],
        });
        fill_scaling_rules(behavior, "scaleUp", scale_up);
        fill_scaling_rules(behavior, "scaleDown", scale_down);
    }
}

/// `GenerateHPAScale{Up,Down}Rules`: the defaults overlaid with every non-null
/// field the user set.
fn fill_scaling_rules(behavior: &mut Object, key: &str, defaults: Value) {
    let Value::Object(mut rules) = defaults else {
        return;
    };
    match behavior.get(key) {
        Some(Value::Object(given)) => {
            for field in ["selectPolicy", "stabilizationWindowSeconds", "policies", "tolerance"] {
                if let Some(value) = given.get(field).filter(|v| !v.is_null()) {
                    rules.insert(field.into(), value.clone());
                }
            }
        }
        None | Some(Value::Null) => {}
        Some(_) => return,
    }
    behavior.insert(key.into(), Value::Object(rules));
}
