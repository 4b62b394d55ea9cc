//! An owned device tree: what the `.dts` parser produces, what the FIT builder edits and what
//! the writer flattens. Properties keep their order, as in dtc and libfdt.

use super::read::{Fdt, Node as RNode};

/// An owned tree with its memory reservations.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tree {
    /// `(address, size)` pairs of the memory reservation map.
    pub reservations: Vec<(u64, u64)>,
    /// `boot_cpuid_phys` of the header.
    pub boot_cpuid_phys: u32,
    /// The root node (its name is empty).
    pub root: Node,
}

/// An owned node.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Node {
    pub name: String,
    pub props: Vec<Property>,
    pub children: Vec<Node>,
}

/// An owned property.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Property {
    pub name: String,
    pub value: Vec<u8>,
}

impl Property {
    /// A property from a name and raw value.
    pub fn new(name: impl Into<String>, value: impl Into<Vec<u8>>) -> Self {
        Self {
            name: name.into(),
            value: value.into(),
        }
    }

    /// A NUL-terminated string property.
    pub fn string(name: impl Into<String>, s: &str) -> Self {
        let mut v = s.as_bytes().to_vec();
        v.push(0);
        Self::new(name, v)
    }

    /// A one-cell property.
    pub fn u32(name: impl Into<String>, v: u32) -> Self {
        Self::new(name, v.to_be_bytes().to_vec())
    }

    /// The value as a string, when it is one.
    pub fn as_str(&self) -> Option<&str> {
        let (last, body) = self.value.split_last()?;
        if *last != 0 || body.contains(&0) {
            return None;
        }
        std::str::from_utf8(body).ok()
    }
}

impl Node {
    /// An empty node.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            ..Self::default()
        }
    }

    /// The property called `name`.
    pub fn prop(&self, name: &str) -> Option<&Property> {
        self.props.iter().find(|p| p.name == name)
    }

    /// The child called `name`.
    pub fn child(&self, name: &str) -> Option<&Node> {
        self.children.iter().find(|c| c.name == name)
    }

    /// The child called `name`, mutable.
    pub fn child_mut(&mut self, name: &str) -> Option<&mut Node> {
        self.children.iter_mut().find(|c| c.name == name)
    }

    /// Sets a property as dtc does: replaced where it is, or appended.
    pub fn set_prop(&mut self, p: Property) {
        match self.props.iter_mut().find(|q| q.name == p.name) {
            Some(q) => q.value = p.value,
            None => self.props.push(p),
        }
    }

    /// Sets a property as libfdt's `fdt_setprop` does: replaced where it is, or inserted
    /// before every other property of the node.
    pub fn setprop_libfdt(&mut self, p: Property) {
        match self.props.iter_mut().find(|q| q.name == p.name) {
            Some(q) => q.value = p.value,
            None => self.props.insert(0, p),
        }
    }

    /// Removes a property; returns it.
    pub fn remove_prop(&mut self, name: &str) -> Option<Property> {
        let i = self.props.iter().position(|p| p.name == name)?;
        Some(self.props.remove(i))
    }

    /// The node at a path relative to this one (`a/b`).
    pub fn find(&self, path: &str) -> Option<&Node> {
        let mut n = self;
        for part in path.split('/').filter(|p| !p.is_empty()) {
            n = n.child(part)?;
        }
        Some(n)
    }

    /// The node at a path relative to this one, mutable.
    pub fn find_mut(&mut self, path: &str) -> Option<&mut Node> {
        let mut n = self;
        for part in path.split('/').filter(|p| !p.is_empty()) {
            n = n.child_mut(part)?;
        }
        Some(n)
    }

    fn from_read(n: RNode<'_>) -> Self {
        Self {
            name: n.name().to_owned(),
            props: n
                .props()
                .map(|p| Property::new(p.name, p.value.to_vec()))
                .collect(),
            children: n.children().map(Self::from_read).collect(),
        }
    }
}

impl Tree {
    /// A tree with an empty root.
    pub fn new() -> Self {
        Self::default()
    }

    /// Copies a checked blob into an owned tree.
    pub fn from_fdt(fdt: &Fdt<'_>) -> Self {
        Self {
            reservations: fdt.reservations(),
            boot_cpuid_phys: fdt.header().boot_cpuid_phys,
            root: Node::from_read(fdt.root()),
        }
    }

    /// The node at an absolute path.
    pub fn find(&self, path: &str) -> Option<&Node> {
        self.root.find(path)
    }

    /// The node at an absolute path, mutable.
    pub fn find_mut(&mut self, path: &str) -> Option<&mut Node> {
        self.root.find_mut(path)
    }
}
