//! A page of a list as the services read it: how many rows, after which key. (The GraphQL
//! layer makes one from `first` and an opaque `after` cursor: `graphql::relay`.)

/// A forward page request: how many items, and after which cursor.
#[derive(Debug, Clone)]
pub struct PageRequest<C> {
    pub limit: u64,
    pub after: Option<C>,
}
