//! Thin SageMaker adapters: SDK types stop here and plain structs go on to the planners.

pub mod endpoints;
pub mod inference_components;
pub mod notebooks;
