//! Checks a real CSV or Parquet file against its column table
//! ([`super::tables`]): the names in order, each cell of the type the
//! table gives, and for Parquet the dtypes and the key-value metadata.

use super::tables::ColumnDoc;
use polars::prelude::*;

/// Splits CSV text into records of fields (RFC 4180 quoting).
pub fn csv_records(text: &str) -> Result<Vec<Vec<String>>, String> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') if field.is_empty() => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut field)),
            (false, '\n') => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            (false, '\r') => {}
            (false, c) => field.push(c),
        }
    }
    if quoted {
        return Err("a quoted field is not closed".into());
    }
    if !field.is_empty() || !row.is_empty() {
        row.push(field);
        rows.push(row);
    }
    Ok(rows)
}

fn cell_fits(dtype: &str, cell: &str) -> bool {
    if cell.is_empty() {
        return true;
    }
    match dtype {
        "Int64" => cell.parse::<i64>().is_ok(),
        "Float64" => cell.parse::<f64>().is_ok(),
        "Boolean" => cell == "true" || cell == "false",
        _ => true,
    }
}

/// Checks CSV `text` against `expected`; returns the rows read.
pub fn check_csv(text: &str, expected: &[ColumnDoc]) -> Result<usize, String> {
    let rows = csv_records(text)?;
    let Some((header, body)) = rows.split_first() else {
        return Err("no header".into());
    };
    let want: Vec<&str> = expected.iter().map(|c| c.name.as_str()).collect();
    if header.iter().map(String::as_str).ne(want.iter().copied()) {
        return Err(format!("header {header:?}, the table says {want:?}"));
    }
    for (i, row) in body.iter().enumerate() {
        if row.len() != expected.len() {
            return Err(format!(
                "row {}: {} fields, expected {}",
                i + 1,
                row.len(),
                expected.len()
            ));
        }
        for (cell, c) in row.iter().zip(expected) {
            if !cell_fits(c.dtype, cell) {
                return Err(format!(
                    "row {}: `{}` = `{cell}` is not {}",
                    i + 1,
                    c.name,
                    c.dtype
                ));
            }
        }
    }
    Ok(body.len())
}

fn dtype_name(d: &DataType) -> String {
    match d {
        DataType::Int64 => "Int64".into(),
        DataType::Float64 => "Float64".into(),
        DataType::Boolean => "Boolean".into(),
        DataType::String => "String".into(),
        other => format!("{other:?}"),
    }
}

/// Checks Parquet `bytes` against `expected`: column names and dtypes in
/// order (an all-null column may read as any type), and `formatVersion`
/// and `fleetsimVersion` in the key-value metadata. Returns the rows.
pub fn check_parquet(
    bytes: &[u8],
    expected: &[ColumnDoc],
    format_version: u32,
) -> Result<usize, String> {
    let mut reader = ParquetReader::new(std::io::Cursor::new(bytes.to_vec()));
    let meta = reader.get_metadata().map_err(|e| e.to_string())?;
    let kv: Vec<(String, Option<String>)> = meta
        .key_value_metadata
        .clone()
        .unwrap_or_default()
        .into_iter()
        .map(|k| (k.key, k.value))
        .collect();
    let get = |k: &str| {
        kv.iter()
            .find(|(key, _)| key == k)
            .and_then(|(_, v)| v.clone())
    };
    if get(super::FORMAT_VERSION_KEY) != Some(format_version.to_string()) {
        return Err(format!(
            "metadata formatVersion is {:?}, expected {format_version}",
            get(super::FORMAT_VERSION_KEY)
        ));
    }
    if get(super::FLEETSIM_VERSION_KEY).is_none() {
        return Err("no fleetsimVersion in the metadata".into());
    }
    let df = reader.finish().map_err(|e| e.to_string())?;
    let have: Vec<(String, String)> = df
        .columns()
        .iter()
        .map(|c| (c.name().to_string(), dtype_name(c.dtype())))
        .collect();
    if have.len() != expected.len() {
        return Err(format!(
            "{} columns, the table has {}",
            have.len(),
            expected.len()
        ));
    }
    for ((name, dtype), c) in have.iter().zip(expected) {
        let all_null = df
            .column(name)
            .is_ok_and(|col| col.null_count() == df.height());
        let fits = c
            .dtype
            .split(", ")
            .any(|t| t.trim_start_matches("or ") == dtype)
            || c.dtype.contains(dtype.as_str())
            || all_null;
        if *name != c.name || !fits {
            return Err(format!(
                "column `{name}` {dtype}, the table says `{}` {}",
                c.name, c.dtype
            ));
        }
    }
    Ok(df.height())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_quoted_fields() {
        let r = csv_records("a,b\n1,\"x, \"\"y\"\"\"\n").unwrap();
        assert_eq!(r, vec![vec!["a", "b"], vec!["1", "x, \"y\""]]);
    }

    #[test]
    fn a_cell_of_the_wrong_type_is_found() {
        let cols = vec![ColumnDoc {
            name: "n".into(),
            dtype: "Int64",
            unit: "",
            meaning: String::new(),
        }];
        assert_eq!(check_csv("n\n1\n", &cols), Ok(1));
        assert!(check_csv("n\n1.5\n", &cols).is_err());
        assert!(check_csv("m\n1\n", &cols).is_err());
    }
}
