//! The official Kubernetes Python client (`pip install kubernetes`) against the
//! real kube-apiserver: CRUD, conflicts, selectors, defaults and a watch.

mod support;

use std::process::Command;

use support::Apiserver;

#[test]
fn official_python_client_works_unmodified() {
    let probe = Command::new("python3").args(["-c", "import kubernetes"]).output();
    match probe {
        Ok(out) if out.status.success() => {}
        _ => panic!(
            "the official Python client is missing: install it with `python3 -m pip install kubernetes` \
             (deploy/test.sh does)"
        ),
    }
    let s = Apiserver::start(&[]);
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python/client_crud.py");
    let out = Command::new("python3").arg(script).arg(s.kubeconfig()).output().expect("running python3");
    assert!(
        out.status.success(),
        "python client failed:\nstdout: {}\nstderr: {}\nserver log tail:\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        s.log_tail()
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("python client: ok"));
}
