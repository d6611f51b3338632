//! TODO: the running configuration and the operations on it (issue 5).
