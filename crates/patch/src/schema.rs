//! Patch metadata for one API type: which fields merge, by which key, and which are replaced whole.
//!
//! This is the information upstream reads from the `patchStrategy` / `patchMergeKey` struct tags of
//! the Go types (or the `x-kubernetes-patch-strategy` / `x-kubernetes-patch-merge-key` OpenAPI
//! extensions). Only fields that carry a strategy, or lead to one, need to be listed: an unlisted
//! field behaves as an untagged one upstream (maps merge key by key, lists are replaced whole).

/// How a field's patch value is combined with the live value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Strategy {
    /// No `patchStrategy` tag: objects merge key by key, lists are replaced whole.
    #[default]
    Default,
    /// `patchStrategy:"merge"`: lists merge, lists of objects by their merge key, lists of
    /// primitives as an ordered union.
    Merge,
    /// `patchStrategy:"replace"`: the value is replaced whole, even when it is an object.
    Replace,
}

/// Patch metadata of one field of a [`Schema`].
#[derive(Debug, Clone, Copy)]
pub struct Field {
    name: &'static str,
    schema: Option<&'static Schema>,
    strategy: Strategy,
    retain_keys: bool,
    merge_key: Option<&'static str>,
}

impl Field {
    const fn new(name: &'static str, strategy: Strategy) -> Self {
        Self { name, schema: None, strategy, retain_keys: false, merge_key: None }
    }

    /// A nested object (or, for lists, the list's items) whose own fields have metadata.
    pub const fn object(name: &'static str, schema: &'static Schema) -> Self {
        Self::new(name, Strategy::Default).items(schema)
    }

    /// A list of objects merged by `merge_key` (`patchStrategy:"merge" patchMergeKey:"<key>"`).
    pub const fn merge_by(name: &'static str, merge_key: &'static str) -> Self {
        let mut field = Self::new(name, Strategy::Merge);
        field.merge_key = Some(merge_key);
        field
    }

    /// A list of primitives merged as an ordered union (`patchStrategy:"merge"` without a key).
    pub const fn merge_set(name: &'static str) -> Self {
        Self::new(name, Strategy::Merge)
    }

    /// An object replaced whole (`patchStrategy:"replace"`).
    pub const fn replace(name: &'static str) -> Self {
        Self::new(name, Strategy::Replace)
    }

    /// An object whose patches clear every key not named in `$retainKeys`
    /// (`patchStrategy:"retainKeys"`).
    pub const fn retain_keys(name: &'static str) -> Self {
        Self::new(name, Strategy::Default).retaining_keys()
    }

    /// The schema of this field's value, or of its items for a list.
    pub const fn items(mut self, schema: &'static Schema) -> Self {
        self.schema = Some(schema);
        self
    }

    /// Adds the `retainKeys` strategy (`patchStrategy:"merge,retainKeys"` on a list applies it to
    /// each item).
    pub const fn retaining_keys(mut self) -> Self {
        self.retain_keys = true;
        self
    }

    /// The field's JSON name.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The schema of the field's value (for lists, of each item), if it has one.
    pub fn schema(&self) -> Option<&'static Schema> {
        self.schema
    }

    /// The field's patch strategy.
    pub fn strategy(&self) -> Strategy {
        self.strategy
    }

    /// Whether the field carries the `retainKeys` strategy.
    pub fn has_retain_keys(&self) -> bool {
        self.retain_keys
    }

    /// The merge key of a list of objects with the merge strategy.
    pub fn merge_key(&self) -> Option<&'static str> {
        self.merge_key
    }
}

/// Patch metadata for one API type.
#[derive(Debug)]
pub struct Schema {
    name: &'static str,
    fields: &'static [Field],
}

impl Schema {
    /// A type named `name` (the Go type name, used in messages) with metadata for `fields`.
    pub const fn new(name: &'static str, fields: &'static [Field]) -> Self {
        Self { name, fields }
    }

    /// The Go type name this schema describes.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Metadata of the field named `name`, if it has any.
    pub fn field(&self, name: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.name == name)
    }

    /// Every field with metadata.
    pub fn fields(&self) -> &'static [Field] {
        self.fields
    }
}

/// Metadata of a field as the algorithms need it: a field without metadata (or any field when the
/// parent has no schema) gets the defaults.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Meta {
    pub(crate) schema: Option<&'static Schema>,
    pub(crate) strategy: Strategy,
    pub(crate) retain_keys: bool,
    pub(crate) merge_key: Option<&'static str>,
}

impl Meta {
    pub(crate) fn lookup(schema: Option<&Schema>, key: &str) -> Self {
        match schema.and_then(|s| s.field(key)) {
            Some(f) => {
                Self { schema: f.schema, strategy: f.strategy, retain_keys: f.retain_keys, merge_key: f.merge_key }
            }
            None => Self::default(),
        }
    }
}
