//! Checksum files as publishers write them (`SHA256SUMS`, `SHA512SUMS`, `sha256sum` output):
//! the GNU format `DIGEST  NAME` (or `DIGEST *NAME` for binary mode, and a leading `\` when
//! the name holds a backslash or a newline, escaped), and the BSD format
//! `SHA256 (NAME) = DIGEST` (`sha256sum --tag`, escaped the same way). Lines that are neither are counted, never guessed at.

/// The name a checksum list knows a file at `url` by: the last segment of its path,
/// percent-decoded; None when that is empty or not UTF-8.
pub fn file_name(url: &url::Url) -> Option<String> {
    let last = url.path_segments()?.next_back()?;
    let name = percent_encoding::percent_decode_str(last)
        .decode_utf8()
        .ok()?
        .into_owned();
    (!name.is_empty() && !name.contains('/')).then_some(name)
}

/// One line that names a file and its digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChecksumLine {
    /// Line number, from 1.
    pub line: u64,
    /// `sha256` or `sha512`.
    pub algorithm: &'static str,
    /// The digest, lowercase hex.
    pub digest: String,
    /// The file name, unescaped.
    pub name: String,
}

/// A checksum file read: its lines that list a file, and the numbers of the others that are
/// not blank.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChecksumFile {
    pub lines: Vec<ChecksumLine>,
    pub unreadable: Vec<u64>,
}

/// What a checksum file says of one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Listing<'a> {
    /// Listed with this digest, on this line.
    Matches(&'a ChecksumLine),
    /// Listed, with another digest (the first such line).
    Differs(&'a ChecksumLine),
    /// Not listed under this name with a digest of an algorithm given.
    Absent,
}

impl ChecksumFile {
    /// Reads `text` (a checksum file's bytes; other encodings than UTF-8 are read lossily).
    pub fn parse(text: &[u8]) -> ChecksumFile {
        let mut file = ChecksumFile::default();
        for (index, raw) in text.split(|b| *b == b'\n').enumerate() {
            let number = index as u64 + 1;
            let line = String::from_utf8_lossy(raw);
            let line = line.strip_suffix('\r').unwrap_or(&line);
            if line.trim().is_empty() {
                continue;
            }
            // A leading `\` says the name is escaped, in either format.
            let (escaped, line) = match line.strip_prefix('\\') {
                Some(rest) => (true, rest),
                None => (false, line),
            };
            let parsed = parse_bsd(line).or_else(|| parse_gnu(line));
            let parsed = match (parsed, escaped) {
                (Some((algorithm, digest, name)), true) => {
                    unescape(&name).map(|name| (algorithm, digest, name))
                }
                (parsed, _) => parsed,
            };
            match parsed {
                Some((algorithm, digest, name)) => file.lines.push(ChecksumLine {
                    line: number,
                    algorithm,
                    digest,
                    name,
                }),
                None => file.unreadable.push(number),
            }
        }
        file
    }

    /// What the file says of `name`, whose digests are `sha256` and `sha512` (lowercase
    /// hex). A line that lists the name with another digest decides against it, even when
    /// another line lists the right one: a publisher's list names one content per file.
    pub fn listing(&self, name: &str, sha256: &str, sha512: &str) -> Listing<'_> {
        let mut matched = None;
        for line in self.lines.iter().filter(|l| same_name(&l.name, name)) {
            let ours = match line.algorithm {
                "sha256" => sha256,
                _ => sha512,
            };
            if line.digest != ours {
                return Listing::Differs(line);
            }
            matched.get_or_insert(line);
        }
        matched.map_or(Listing::Absent, Listing::Matches)
    }
}

/// A listed name and a file name are the same with or without a leading `./`.
fn same_name(listed: &str, name: &str) -> bool {
    listed.strip_prefix("./").unwrap_or(listed) == name.strip_prefix("./").unwrap_or(name)
}

/// The algorithm a digest of `len` hex digits is made with.
fn algorithm(len: usize) -> Option<&'static str> {
    match len {
        64 => Some("sha256"),
        128 => Some("sha512"),
        _ => None,
    }
}

fn hex_digest(text: &str) -> Option<(&'static str, String)> {
    let algorithm = algorithm(text.len())?;
    text.bytes()
        .all(|b| b.is_ascii_hexdigit())
        .then(|| (algorithm, text.to_ascii_lowercase()))
}

/// `SHA256 (NAME) = DIGEST`.
fn parse_bsd(line: &str) -> Option<(&'static str, String, String)> {
    let (tag, rest) = line.split_once(" (")?;
    let (name, digest) = rest.rsplit_once(") = ")?;
    let (algorithm, digest) = hex_digest(digest.trim_end())?;
    let named = match tag {
        "SHA256" => "sha256",
        "SHA512" => "sha512",
        _ => return None,
    };
    (named == algorithm).then(|| (algorithm, digest, name.to_owned()))
}

/// `DIGEST  NAME` or `DIGEST *NAME`.
fn parse_gnu(line: &str) -> Option<(&'static str, String, String)> {
    let (digest, rest) = line.split_once(' ')?;
    let (algorithm, digest) = hex_digest(digest)?;
    let name = rest.strip_prefix(' ').or_else(|| rest.strip_prefix('*'))?;
    (!name.is_empty()).then(|| (algorithm, digest, name.to_owned()))
}

/// A name as `sha256sum` escapes it: `\\` for a backslash, `\n` for a newline, `\r` for a
/// carriage return.
fn unescape(name: &str) -> Option<String> {
    let mut out = String::with_capacity(name.len());
    let mut chars = name.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        out.push(match chars.next()? {
            '\\' => '\\',
            'n' => '\n',
            'r' => '\r',
            _ => return None,
        });
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "a591a6d40bf420404a011733cfb7b190d62c65bf0bcda32b57b277d9ad9f146e";
    const B: &str = "b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9";

    #[test]
    fn a_file_is_known_by_its_decoded_last_path_segment() {
        let name = |u: &str| file_name(&url::Url::parse(u).unwrap());
        assert_eq!(
            name("https://a.example/cd/debian-13.2.0-amd64-netinst.iso?sig=x").as_deref(),
            Some("debian-13.2.0-amd64-netinst.iso")
        );
        assert_eq!(
            name("https://a.example/a%20b.iso").as_deref(),
            Some("a b.iso")
        );
        assert_eq!(name("https://a.example/dir/"), None);
        assert_eq!(name("https://a.example/a%2Fb"), None);
        assert_eq!(name("https://a.example/%FF"), None);
    }

    #[test]
    fn gnu_and_bsd_lines_are_read_and_the_rest_counted() {
        let text = format!(
            "{A}  debian.iso\n{B} *binary.img\r\n\nSHA256 (bsd name.iso) = {A}\n\\{B}  back\\\\slash\\nnl\n\
             not a line\n{A} missing-separator\nSHA512 (short) = {A}\n"
        );
        let file = ChecksumFile::parse(text.as_bytes());
        let names: Vec<(&str, u64)> = file
            .lines
            .iter()
            .map(|l| (l.name.as_str(), l.line))
            .collect();
        assert_eq!(
            names,
            [
                ("debian.iso", 1),
                ("binary.img", 2),
                ("bsd name.iso", 4),
                ("back\\slash\nnl", 5)
            ]
        );
        assert_eq!(file.unreadable, [6, 7, 8]);
        assert!(file.lines.iter().all(|l| l.algorithm == "sha256"));
    }

    #[test]
    fn a_listing_matches_differs_or_is_absent() {
        let sha512 = "0".repeat(128);
        let text = format!("{A}  x.iso\n{B}  ./y.iso\n{A}  y.iso\n");
        let file = ChecksumFile::parse(text.as_bytes());
        assert!(matches!(file.listing("x.iso", A, &sha512), Listing::Matches(l) if l.line == 1));
        assert!(matches!(file.listing("x.iso", B, &sha512), Listing::Differs(l) if l.line == 1));
        assert_eq!(file.listing("z.iso", A, &sha512), Listing::Absent);
        // Two lines for one name that disagree: the file lists another content too.
        assert!(matches!(file.listing("y.iso", A, &sha512), Listing::Differs(l) if l.line == 2));
        // Uppercase digests are read as the same digest.
        let upper = ChecksumFile::parse(format!("{}  x.iso\n", A.to_uppercase()).as_bytes());
        assert!(matches!(
            upper.listing("x.iso", A, &sha512),
            Listing::Matches(_)
        ));
    }
}

/// The lists `sha256sum` and `sha512sum` write (GNU, and BSD with `--tag`), names with a
/// backslash and a newline included, read as the tools themselves check them (`-c`).
#[cfg(test)]
mod against_coreutils {
    use std::process::Command;

    use super::*;

    fn tool(name: &str, dir: &std::path::Path, args: &[&str]) -> std::process::Output {
        let program = tofu_testkit::require_program(name, "coreutils");
        Command::new(program)
            .current_dir(dir)
            .args(args)
            .output()
            .unwrap()
    }

    fn digest(algorithm: &'static ring::digest::Algorithm, bytes: &[u8]) -> String {
        hex::encode(ring::digest::digest(algorithm, bytes))
    }

    #[test]
    fn lists_written_by_sha256sum_and_sha512sum_read_as_they_check_them() {
        let dir = tempfile::tempdir().unwrap();
        let files: [(&str, &[u8]); 3] = [
            ("debian-13.2.0-amd64-netinst.iso", b"iso bytes"),
            ("with space.img", b"img bytes"),
            ("odd\\name\nline", b"odd bytes"),
        ];
        for (name, bytes) in files {
            std::fs::write(dir.path().join(name), bytes).unwrap();
        }
        let names: Vec<&str> = files.iter().map(|(n, _)| *n).collect();
        for (program, extra) in [
            ("sha256sum", None),
            ("sha512sum", None),
            ("sha256sum", Some("--tag")),
        ] {
            let mut args: Vec<&str> = extra.into_iter().collect();
            args.extend(&names);
            let out = tool(program, dir.path(), &args);
            assert!(out.status.success());
            let list = ChecksumFile::parse(&out.stdout);
            assert!(list.unreadable.is_empty(), "{program} {extra:?}: {list:?}");
            for (name, bytes) in files {
                let (sha256, sha512) = (
                    digest(&ring::digest::SHA256, bytes),
                    digest(&ring::digest::SHA512, bytes),
                );
                let listing = list.listing(name, &sha256, &sha512);
                assert!(
                    matches!(listing, Listing::Matches(_)),
                    "{program} {name:?}: {listing:?}"
                );
                let other = digest(&ring::digest::SHA256, b"other");
                let listing = list.listing(name, &other, &"0".repeat(128));
                assert!(matches!(listing, Listing::Differs(_)), "{program} {name:?}");
            }
            // The tool agrees: the list checks, and fails once a file changes.
            let sums = dir.path().join("SUMS");
            std::fs::write(&sums, &out.stdout).unwrap();
            assert!(tool(program, dir.path(), &["-c", "SUMS"]).status.success());
            std::fs::write(dir.path().join(names[0]), b"changed").unwrap();
            assert!(!tool(program, dir.path(), &["-c", "SUMS"]).status.success());
            std::fs::write(dir.path().join(names[0]), files[0].1).unwrap();
        }
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Any bytes parse without panicking, and every non-blank line is either listed or
        /// counted as unreadable, exactly once.
        #[test]
        fn every_line_is_accounted_for(text in proptest::collection::vec(any::<u8>(), 0..2048)) {
            let file = ChecksumFile::parse(&text);
            let non_blank = text
                .split(|b| *b == b'\n')
                .filter(|l| !String::from_utf8_lossy(l).trim().is_empty())
                .count();
            prop_assert_eq!(file.lines.len() + file.unreadable.len(), non_blank);
        }
    }
}
