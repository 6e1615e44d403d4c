//! TODO (helper)
