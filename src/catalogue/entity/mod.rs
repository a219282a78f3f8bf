//! Database rows of the catalogue. Relations are resolved through batched loaders
//! (`catalogue::loaders`), not through ORM joins, so the entities stay plain.

pub mod catalogue_entry;
pub mod category;
pub mod producer;
pub mod product;
pub mod product_image;
pub mod variant;
pub mod village;
