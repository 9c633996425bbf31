//! `request`'s body: `--data` (text, @FILE or @- for stdin) and `-F` multipart forms.

use std::io::Read as _;

use crate::error::CliError;

/// `--data`: the text itself, `@FILE`, or `@-` for stdin, as bytes.
pub(super) fn read_body(data: &str) -> Result<Vec<u8>, CliError> {
    match data.strip_prefix('@') {
        Some("-") => {
            let mut body = Vec::new();
            std::io::stdin()
                .read_to_end(&mut body)
                .map_err(|e| CliError::failed(format!("cannot read the body from stdin: {e}")))?;
            Ok(body)
        }
        Some(file) => std::fs::read(file)
            .map_err(|e| CliError::usage(format!("cannot read the body from {file:?}: {e}"))),
        None => Ok(data.as_bytes().to_vec()),
    }
}

/// One `-F` field: `NAME=VALUE`, or `NAME=@FILE` with optional `;type=MIME` and
/// `;filename=NAME` after the file (as curl takes them).
struct Part {
    name: String,
    /// `Some` for a file: the file name sent, and its content type.
    file: Option<(String, String)>,
    content: Vec<u8>,
}

/// A file part's content type when `;type=` does not give one.
const DEFAULT_FILE_TYPE: &str = "application/octet-stream";

/// `-F` fields as a `multipart/form-data` body (RFC 7578): the `Content-Type` header's value
/// (with its random boundary) and the body. Files are read before anything is sent; an
/// unreadable one is a usage error naming it.
pub(super) fn multipart(fields: &[String]) -> Result<(String, Vec<u8>), CliError> {
    let parts = fields
        .iter()
        .map(|field| parse_part(field))
        .collect::<Result<Vec<_>, _>>()?;
    // A boundary that occurs in no part (a clash is astronomically rare; pick again then).
    let boundary = loop {
        let random: String = (0..32).map(|_| fastrand::alphanumeric()).collect();
        let boundary = format!("scalekit-auth-{random}");
        if !parts
            .iter()
            .any(|p| contains(&p.content, boundary.as_bytes()))
        {
            break boundary;
        }
    };
    let mut body = Vec::new();
    for part in &parts {
        body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        let mut disposition = format!("form-data; name=\"{}\"", quoted(&part.name));
        if let Some((filename, _)) = &part.file {
            disposition.push_str(&format!("; filename=\"{}\"", quoted(filename)));
        }
        body.extend_from_slice(format!("Content-Disposition: {disposition}\r\n").as_bytes());
        if let Some((_, content_type)) = &part.file {
            body.extend_from_slice(format!("Content-Type: {content_type}\r\n").as_bytes());
        }
        body.extend_from_slice(b"\r\n");
        body.extend_from_slice(&part.content);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    Ok((format!("multipart/form-data; boundary={boundary}"), body))
}

fn parse_part(field: &str) -> Result<Part, CliError> {
    let shown = || crate::output::safe::line(field).into_owned();
    let Some((name, value)) = field.split_once('=') else {
        return Err(CliError::usage(format!(
            "a form field is NAME=VALUE or NAME=@FILE (-F 'file=@report.pdf'), not {:?}",
            shown()
        )));
    };
    if name.is_empty() {
        return Err(CliError::usage(format!(
            "the form field {:?} has no name",
            shown()
        )));
    }
    let Some(spec) = value.strip_prefix('@') else {
        return Ok(Part {
            name: name.to_owned(),
            file: None,
            content: value.as_bytes().to_vec(),
        });
    };
    // `@FILE;type=text/csv;filename=x.csv`: options are taken from the end, so a file name
    // holding `;` still works when no option follows it.
    let mut path = spec;
    let mut content_type = None;
    let mut filename = None;
    while let Some((rest, option)) = path.rsplit_once(';') {
        if let Some(t) = option.strip_prefix("type=") {
            content_type = Some(t.trim().to_owned());
        } else if let Some(f) = option.strip_prefix("filename=") {
            filename = Some(f.to_owned());
        } else {
            break;
        }
        path = rest;
    }
    if path.is_empty() || path == "-" {
        return Err(CliError::usage(format!(
            "the form field {name:?} names no file (-F NAME=@FILE; stdin is not read for -F)"
        )));
    }
    if let Some(t) = &content_type
        && reqwest::header::HeaderValue::from_str(t).is_err()
    {
        return Err(CliError::usage(format!(
            "the form field {name:?} has an invalid type"
        )));
    }
    let content = std::fs::read(path)
        .map_err(|e| CliError::usage(format!("cannot read the form file {path:?}: {e}")))?;
    let filename = filename.unwrap_or_else(|| {
        std::path::Path::new(path)
            .file_name()
            .map_or_else(|| path.to_owned(), |n| n.to_string_lossy().into_owned())
    });
    Ok(Part {
        name: name.to_owned(),
        file: Some((
            filename,
            content_type.unwrap_or_else(|| DEFAULT_FILE_TYPE.to_owned()),
        )),
        content,
    })
}

/// A name inside a quoted header parameter, as browsers send it (WHATWG HTML, "multipart/
/// form-data encoding"): `"`, CR and LF percent-encoded, so a name cannot end the quote or
/// the header line.
fn quoted(text: &str) -> String {
    text.replace('"', "%22")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    #[test]
    fn fields_and_files_make_one_multipart_body() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("report.csv");
        std::fs::write(&file, b"a,b\r\n1,2\xff").unwrap();
        let fields = [
            "title=Q3 \"final\"".to_owned(),
            format!("doc=@{};type=text/csv", file.display()),
            format!("raw=@{};filename=x\ny.bin", file.display()),
        ];
        let (content_type, body) = multipart(&fields).unwrap();
        let boundary = content_type
            .strip_prefix("multipart/form-data; boundary=")
            .unwrap();
        let expected = format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\nQ3 \"final\"\r\n\
             --{boundary}\r\nContent-Disposition: form-data; name=\"doc\"; filename=\"report.csv\"\r\n\
             Content-Type: text/csv\r\n\r\na,b\r\n1,2\u{fffd}\r\n\
             --{boundary}\r\nContent-Disposition: form-data; name=\"raw\"; filename=\"x%0Ay.bin\"\r\n\
             Content-Type: application/octet-stream\r\n\r\na,b\r\n1,2\u{fffd}\r\n\
             --{boundary}--\r\n"
        );
        assert_eq!(String::from_utf8_lossy(&body), expected);
        assert!(
            body.windows(2).any(|w| w == b"2\xff"),
            "bytes kept as they are"
        );
        // Each run picks a new boundary.
        assert_ne!(multipart(&fields).unwrap().0, content_type);
    }

    #[test]
    fn bad_fields_are_usage_errors() {
        for bad in [
            "novalue",
            "=x",
            "f=@",
            "f=@-",
            "f=@/nonexistent/file",
            "f=@x;type=a\nb",
        ] {
            let err = multipart(&[bad.to_owned()]).unwrap_err();
            assert_eq!(err.kind, ErrorKind::Usage, "{bad}");
            assert!(!err.message.contains('\n'), "{bad}: {}", err.message);
        }
    }
}
