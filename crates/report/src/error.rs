//! The error type of the renderers. Only the XLSX writer can fail on its own; everything else
//! renders into a `String` or `Vec<u8>` and cannot fail.

/// A report could not be rendered.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// rust_xlsxwriter rejected a value or could not assemble the workbook.
    #[error("Excel ファイルを作成できませんでした: {0}")]
    Xlsx(#[from] rust_xlsxwriter::XlsxError),
}
