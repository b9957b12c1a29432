//! Derive macros for schemac: a thin shell that hands its input to schema-core.
//!
//! The table derive arrives with the derive-macro work; today the crate exports `schema_version`,
//! so crates depending on it build and the workspace layout is in place.

use proc_macro::TokenStream;

/// Expands to the schemac version string these macros were built with.
#[proc_macro]
pub fn schema_version(_input: TokenStream) -> TokenStream {
    let v = env!("CARGO_PKG_VERSION");
    quote::quote!(#v).into()
}
