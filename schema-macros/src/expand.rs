//! The code the derives expand to, built from schema-core's `Model` (whose SQL comes from
//! `schema_core::sql::dml`). Built the same way when there are errors, so the rest of the crate
//! still type-checks and one bad attribute gives one error.

use proc_macro2::{Ident, Span, TokenStream as TokenStream2};
use quote::quote;
use schema_core::syntax::rust::check::Model;
use schema_core::syntax::rust::{EnumInfo, StructInfo};

/// `COL_<NAME>` for a column: upper-case ASCII letters and digits, `_` for anything else.
fn const_name(column: &str) -> Ident {
    let up: String = column
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    Ident::new(&format!("COL_{up}"), Span::call_site())
}

pub fn table(item: &syn::DeriveInput, info: &StructInfo, model: &Model) -> TokenStream2 {
    let name = &item.ident;
    let syn::Data::Struct(data) = &item.data else {
        return TokenStream2::new();
    };
    let fields: Vec<&syn::Field> = data.fields.iter().collect();
    let ident = |i: usize| fields[i].ident.clone().expect("named fields");
    let table = &model.table;
    let schema = &model.schema;
    let columns: Vec<&String> = model
        .fields
        .iter()
        .filter_map(|f| f.column.as_ref())
        .collect();
    let mut seen = Vec::new();
    let konsts = columns.iter().filter_map(|c| {
        let k = const_name(c);
        if seen.contains(&k) {
            return None;
        }
        seen.push(k.clone());
        let doc = format!(" Column `{c}`.");
        Some(quote! { #[doc = #doc] pub const #k: &'static str = #c; })
    });
    let gets = model.fields.iter().map(|f| {
        let id = ident(f.index);
        match &f.column {
            None => quote! { #id: ::core::default::Default::default(), },
            Some(c) if f.vec_f32 => {
                if info.fields[f.index].option {
                    quote! { #id: row.try_get::<_, ::core::option::Option<::pgvector::Vector>>(#c)?.map(|v| v.to_vec()), }
                } else {
                    quote! { #id: row.try_get::<_, ::pgvector::Vector>(#c)?.to_vec(), }
                }
            }
            Some(c) => quote! { #id: row.try_get(#c)?, },
        }
    });
    let param = |i: &usize| {
        let f = &model.fields.iter().find(|f| f.index == *i).expect("field");
        let id = ident(*i);
        if f.vec_f32 {
            if info.fields[*i].option {
                quote! { &self.#id.clone().map(::pgvector::Vector::from) }
            } else {
                quote! { &::pgvector::Vector::from(self.#id.clone()) }
            }
        } else {
            quote! { &self.#id }
        }
    };
    let insert_params: Vec<TokenStream2> = model.insert_params.iter().map(param).collect();
    let insert_sql = &model.insert_sql;
    let returning_sql = &model.insert_returning_sql;
    let select_sql = &model.select_sql;
    let row_param = if model.fields.iter().any(|f| f.column.is_some()) {
        quote! { row }
    } else {
        quote! { _row }
    };
    let insert_doc = format!(" `{insert_sql}`");
    let update = match &model.update_sql {
        Some(sql) => {
            let params: Vec<TokenStream2> = model.update_params.iter().map(param).collect();
            let doc = format!(" `{sql}`");
            quote! {
                #[doc = #doc]
                pub const UPDATE_SQL: &'static str = #sql;

                /// Updates the row with this primary key to the other fields' values; returns the
                /// number of rows changed (0 when none is visible to the current role).
                pub fn update(
                    &self,
                    client: &mut impl ::postgres::GenericClient,
                ) -> ::core::result::Result<u64, ::postgres::Error> {
                    client.execute(Self::UPDATE_SQL, &[#(#params),*])
                }
            }
        }
        None => TokenStream2::new(),
    };
    quote! {
        #[automatically_derived]
        impl #name {
            /// The schema of the table.
            pub const SCHEMA: &'static str = #schema;
            /// The table name.
            pub const TABLE: &'static str = #table;
            /// The columns of the fields, in field order.
            pub const COLUMNS: &'static [&'static str] = &[#(#columns),*];
            #(#konsts)*
            /// `select` of every mapped column.
            pub const SELECT_SQL: &'static str = #select_sql;
            #[doc = #insert_doc]
            pub const INSERT_SQL: &'static str = #insert_sql;
            /// `INSERT_SQL` returning every mapped column.
            pub const INSERT_RETURNING_SQL: &'static str = #returning_sql;

            /// Inserts the fields' values (bound as parameters); returns the number of rows inserted.
            pub fn insert(
                &self,
                client: &mut impl ::postgres::GenericClient,
            ) -> ::core::result::Result<u64, ::postgres::Error> {
                client.execute(Self::INSERT_SQL, &[#(#insert_params),*])
            }

            /// Inserts the fields' values and reads the row back (defaults filled in).
            pub fn insert_returning(
                &self,
                client: &mut impl ::postgres::GenericClient,
            ) -> ::core::result::Result<Self, ::postgres::Error> {
                let row = client.query_one(Self::INSERT_RETURNING_SQL, &[#(#insert_params),*])?;
                <Self as ::core::convert::TryFrom<&::postgres::Row>>::try_from(&row)
            }

            #update
        }

        #[automatically_derived]
        impl ::core::convert::TryFrom<&::postgres::Row> for #name {
            type Error = ::postgres::Error;

            fn try_from(#row_param: &::postgres::Row) -> ::core::result::Result<Self, Self::Error> {
                ::core::result::Result::Ok(Self { #(#gets)* })
            }
        }
    }
}

pub fn schema_enum(item: &syn::DeriveInput, info: &EnumInfo) -> TokenStream2 {
    let name = &item.ident;
    let sql = &info.def.name.value;
    let variants: Vec<Ident> = info
        .variants
        .iter()
        .map(|(v, _)| Ident::new(v, Span::call_site()))
        .collect();
    let values: Vec<&String> = info.variants.iter().map(|(_, v)| &v.value).collect();
    let bytes: Vec<syn::LitByteStr> = values
        .iter()
        .map(|v| syn::LitByteStr::new(v.as_bytes(), Span::call_site()))
        .collect();
    let ty = quote! { ::postgres::types::Type };
    let err = quote! { ::std::boxed::Box<dyn ::std::error::Error + ::core::marker::Sync + ::core::marker::Send> };
    let as_str = if variants.is_empty() {
        quote! { match *self {} }
    } else {
        quote! { match *self { #(Self::#variants => #values,)* } }
    };
    quote! {
        #[automatically_derived]
        impl #name {
            /// The PostgreSQL enum type.
            pub const SQL_NAME: &'static str = #sql;
            /// Every value, in declaration order.
            pub const ALL: &'static [Self] = &[#(Self::#variants),*];

            /// The value as stored in PostgreSQL.
            pub fn as_str(&self) -> &'static str {
                #as_str
            }
        }

        #[automatically_derived]
        impl ::core::fmt::Display for #name {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        #[automatically_derived]
        impl ::postgres::types::ToSql for #name {
            fn to_sql(
                &self,
                _ty: &#ty,
                out: &mut ::postgres::types::private::BytesMut,
            ) -> ::core::result::Result<::postgres::types::IsNull, #err> {
                out.extend_from_slice(self.as_str().as_bytes());
                ::core::result::Result::Ok(::postgres::types::IsNull::No)
            }

            fn accepts(ty: &#ty) -> bool {
                ty.name() == #sql
            }

            ::postgres::types::to_sql_checked!();
        }

        #[automatically_derived]
        impl<'a> ::postgres::types::FromSql<'a> for #name {
            fn from_sql(_ty: &#ty, raw: &'a [u8]) -> ::core::result::Result<Self, #err> {
                match raw {
                    #(#bytes => ::core::result::Result::Ok(Self::#variants),)*
                    other => ::core::result::Result::Err(::std::format!(
                        "`{}` is not a value of enum `{}`",
                        ::std::string::String::from_utf8_lossy(other),
                        #sql
                    ).into()),
                }
            }

            fn accepts(ty: &#ty) -> bool {
                ty.name() == #sql
            }
        }
    }
}
