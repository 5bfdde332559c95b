//! Signatures and checksum lists beside the verdict, on a Debian-netinst-shaped release
//! served by nginx: an image, `SHA256SUMS` written by `sha256sum`, `SHA256SUMS.sign` made by
//! gpg, and the signing key, all in one plan. Every verdict tofu reaches is set against
//! `gpg --verify` and `sha256sum -c` on the same files.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use tofu_testkit::Gpg;

use crate::campaign::campaign_of;
use crate::support::*;

/// A release under `www/NAME/`: the image (the payload), another image, `SHA256SUMS` of both
/// as `sha256sum` writes it, its detached signature by `signer`, and the signer's key.
struct Release {
    dir: PathBuf,
    plan: String,
}

const ISO: &str = "debian-13.2.0-amd64-netinst.iso";

fn release(w: &World, name: &str, signer: &Gpg, fpr: &str) -> Release {
    let dir = w.path("www").join(name);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("debian-13.2.0-arm64-netinst.iso"),
        b"another image",
    )
    .unwrap();
    std::fs::write(dir.join(ISO), payload()).unwrap();
    let sums = tofu_testkit::output::run_ok(
        Command::new("sha256sum")
            .current_dir(&dir)
            .args(["debian-13.2.0-arm64-netinst.iso", ISO]),
    );
    std::fs::write(dir.join("SHA256SUMS"), sums.stdout).unwrap();
    signer.sign(
        fpr,
        &dir.join("SHA256SUMS"),
        &dir.join("SHA256SUMS.sign"),
        &[],
    );
    std::fs::write(
        dir.join("cd-key.asc"),
        signer.run(&["--armor", "--export", fpr]),
    )
    .unwrap();
    let url = |file: &str| w.nginx.https_url(&format!("{name}/{file}"));
    let plan = write_plan(
        w,
        name,
        "",
        &[
            ("netinst", url(ISO), &[("checksums", "SHA256SUMS")]),
            (
                "SHA256SUMS",
                url("SHA256SUMS"),
                &[("signature", "SHA256SUMS.sign"), ("signed-by", "cd-key")],
            ),
            ("SHA256SUMS.sign", url("SHA256SUMS.sign"), &[]),
            ("cd-key", url("cd-key.asc"), &[]),
        ],
    );
    Release { dir, plan }
}

impl Release {
    /// Publishes another `SHA256SUMS`, `edit` of the one served, signed by `fpr`.
    fn republish_sums(&self, signer: &Gpg, fpr: &str, edit: impl Fn(&str) -> String) {
        let sums = self.dir.join("SHA256SUMS");
        let text = std::fs::read_to_string(&sums).unwrap();
        std::fs::write(&sums, edit(&text)).unwrap();
        signer.sign(fpr, &sums, &self.dir.join("SHA256SUMS.sign"), &[]);
    }

    /// What `gpg --verify` says of the served signature, with only the served key.
    fn gpg_status(&self, scratch: &Path) -> String {
        let verifier = Gpg::new(scratch, "verifier");
        verifier.run(&["--import", self.dir.join("cd-key.asc").to_str().unwrap()]);
        verifier.status(
            &self.dir.join("SHA256SUMS.sign"),
            &self.dir.join("SHA256SUMS"),
        )
    }

    /// Whether `sha256sum -c --ignore-missing` passes on the image as served, and its output.
    fn sha256sum_check(&self) -> (bool, String) {
        let listed = std::fs::read_to_string(self.dir.join("SHA256SUMS")).unwrap();
        let line: String = listed
            .lines()
            .filter(|l| l.ends_with(ISO))
            .map(|l| format!("{l}\n"))
            .collect();
        let list = self.dir.join("only-the-image.sums");
        std::fs::write(&list, line).unwrap();
        let out = Command::new("sha256sum")
            .current_dir(&self.dir)
            .args(["-c", "--strict", list.to_str().unwrap()])
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    }
}

/// One artifact of a test plan: its id, its URL, and what vouches for it (`key = "value"`
/// pairs).
type PlanArtifact<'a> = (&'a str, String, &'a [(&'a str, &'a str)]);

/// Writes plan `file` named `name`, with `head` lines first (e.g. `keyrings`); returns its
/// path.
fn write_plan(w: &World, file: &str, head: &str, artifacts: &[PlanArtifact<'_>]) -> String {
    let mut text = format!("name = \"{file}\"\n{head}\n");
    for (id, url, fields) in artifacts {
        text.push_str(&format!(
            "\n[[artifact]]\nid = \"{id}\"\nurls = [\"{url}\"]\n"
        ));
        for (key, value) in *fields {
            text.push_str(&format!("{key} = \"{value}\"\n"));
        }
    }
    let path = w.path(&format!("{file}.toml"));
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_owned()
}

fn artifact_by_id<'a>(t: &'a Value, id: &str) -> &'a Value {
    t["artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"] == id)
        .unwrap_or_else(|| panic!("no artifact {id}"))
}

/// Done means: a Debian-netinst-shaped plan over three vantage points gives a verdict that
/// names the signature and checksum facts, each cross-checked with gpg and sha256sum.
#[test]
fn a_netinst_plan_over_three_vantage_points_names_its_signature_and_checksums() {
    let w = World::new();
    let signer = Gpg::new(&w.path("gpg"), "debian-cd");
    let fpr = signer.generate(
        "Debian CD signing key <debian-cd@lists.debian.org>",
        "5y",
        &[],
    );
    let release = release(&w, "cd", &signer, &fpr);
    assert_eq!(release.gpg_status(&w.path("gpg")), "GOODSIG");
    let (ok, said) = release.sha256sum_check();
    assert!(ok, "{said}");

    let plan = release.plan.clone();
    let runs = campaign_of(
        &w,
        "run",
        &[("127.0.1.1", 0), ("127.0.2.1", 1), ("127.0.3.1", 2)],
        &["--plan", &plan],
    );
    let t = w.read_json(&runs[0]);
    // Whatever vouches is fetched first: the signature and key before the list, the list
    // before the image.
    let order: Vec<&str> = t["artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        order,
        ["SHA256SUMS.sign", "cd-key", "SHA256SUMS", "netinst"]
    );

    let sums = artifact_by_id(&t, "SHA256SUMS");
    let signature = &sums["signature"];
    assert_eq!(signature["signed_by"]["artifact"], "cd-key");
    assert_eq!(signature["checks"][0]["outcome"], "valid");
    assert_eq!(signature["checks"][0]["signer"], fpr.as_str());
    assert_eq!(
        signature["signature_sha256"],
        tool_digest("sha256sum", &release.dir.join("SHA256SUMS.sign"))
    );
    let iso = artifact_by_id(&t, "netinst");
    let listing = &iso["checksums"]["listing"];
    assert_eq!(iso["checksums"]["name"], ISO);
    assert_eq!(listing["outcome"], "listed");
    // sha256sum listed the image second.
    assert_eq!(listing["line"], 2);
    assert_eq!(
        listing["digest"],
        tool_digest("sha256sum", &release.dir.join(ISO))
    );

    let mut args = vec!["compare"];
    args.extend(runs.iter().map(String::as_str));
    let out = w.tofu(&args);
    assert_exit(&out, 0);
    let text = stdout(&out);
    assert!(text.contains("verdict: AGREE"), "{text}");
    assert!(
        text.contains(&format!(
            "signed (SHA256SUMS.sign) by {fpr} (keys from cd-key, itself identical in 3 runs)"
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "listed in SHA256SUMS (line 2), itself identical in 3 runs, which is signed by {fpr}"
        )),
        "{text}"
    );

    let json = w.tofu(&[&args[..], &["--json"]].concat());
    let report: Value = serde_json::from_slice(&json.stdout).unwrap();
    let netinst = report["artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"] == "netinst")
        .unwrap();
    assert_eq!(netinst["vouches"][0]["kind"], "checksums");
    assert_eq!(netinst["vouches"][0]["status"], "holds");

    // The page shows the same facts, as Chromium reads them.
    let page = w.path("report.html");
    let html = w.tofu(&[&args[..], &["--html", page.to_str().unwrap()]].concat());
    assert_exit(&html, 0);
    let dom = crate::html::chromium(w.dir.path(), &page, &["--dump-dom"]);
    crate::html::assert_no_console_message(&dom);
    let dom = stdout(&dom);
    assert!(dom.contains("Signatures and checksums"), "{dom}");
    assert!(
        dom.contains(&format!(
            "listed in SHA256SUMS (line 2), itself identical in 3 runs, which is signed by {fpr}"
        )),
        "{dom}"
    );
}

/// One way a publisher's word can fail the bytes: what to serve, what gpg or sha256sum says
/// of it, and what tofu must conclude.
struct Case {
    name: &'static str,
    /// Changes the release as served.
    tamper: fn(&Release, &Gpg, &str, &Path),
    /// `gpg --verify`'s status on the served files, or None when gpg is not the judge.
    gpg: Option<&'static str>,
    /// Whether `sha256sum -c` passes on the image.
    sha256sum_passes: bool,
    /// compare's exit code and a phrase of its reasons.
    exit: i32,
    reason: &'static str,
}

/// A signature over other bytes, by a stranger, past its own expiry; a checksum list that
/// lists another digest or not the image: each keeps two identical runs from agreeing, as
/// gpg and sha256sum disagree with the files; a signature that could not be fetched leaves
/// them inconclusive. A key that expired after it signed still vouches, as gpg says.
#[test]
fn what_the_publisher_does_not_vouch_for_is_never_agreement() {
    let cases = [
        Case {
            name: "other-bytes",
            tamper: |r, signer, fpr, _| {
                let other = r.dir.join("other");
                std::fs::write(&other, b"0000  something else\n").unwrap();
                signer.sign(fpr, &other, &r.dir.join("SHA256SUMS.sign"), &[]);
            },
            gpg: Some("BADSIG"),
            sha256sum_passes: true,
            exit: 1,
            reason: "signature 1 is bad",
        },
        Case {
            name: "stranger",
            tamper: |r, _, _, scratch| {
                let stranger = Gpg::new(scratch, "stranger");
                let theirs = stranger.generate("Mallory <m@example.invalid>", "1y", &[]);
                stranger.sign(
                    &theirs,
                    &r.dir.join("SHA256SUMS"),
                    &r.dir.join("SHA256SUMS.sign"),
                    &[],
                );
            },
            gpg: Some("ERRSIG"),
            sha256sum_passes: true,
            exit: 1,
            reason: "no valid signature by the keys named",
        },
        Case {
            name: "signature-expired",
            tamper: |r, signer, fpr, _| {
                signer.sign(
                    fpr,
                    &r.dir.join("SHA256SUMS"),
                    &r.dir.join("SHA256SUMS.sign"),
                    &[
                        "--faked-system-time",
                        "20240601T000000",
                        "--default-sig-expire",
                        "1d",
                    ],
                );
            },
            gpg: Some("EXPSIG"),
            sha256sum_passes: true,
            exit: 1,
            reason: "signature 1 is expired",
        },
        Case {
            name: "other-digest",
            tamper: |r, signer, fpr, _| {
                let digest = tool_digest("sha256sum", &r.dir.join(ISO));
                r.republish_sums(signer, fpr, |sums| sums.replace(&digest, &"0".repeat(64)));
            },
            gpg: Some("GOODSIG"),
            sha256sum_passes: false,
            exit: 1,
            reason: "with another sha256 digest on line 2",
        },
        Case {
            name: "not-listed",
            tamper: |r, signer, fpr, _| {
                r.republish_sums(signer, fpr, |sums| {
                    sums.lines()
                        .filter(|l| !l.ends_with(ISO))
                        .map(|l| format!("{l}\n"))
                        .collect()
                });
            },
            gpg: Some("GOODSIG"),
            sha256sum_passes: false,
            exit: 1,
            reason: "does not list \"debian-13.2.0-amd64-netinst.iso\"",
        },
        Case {
            name: "key-expired-since",
            tamper: |r, _, _, scratch| {
                // A key made in 2024 for a year, which signed in June 2024: it has expired
                // since, and its signature stands, as gpg says (EXPKEYSIG is a good signature
                // by a key that has expired).
                let old = Gpg::new(scratch, "expired");
                let then = ["--faked-system-time", "20240101T000000"];
                let fpr = old.generate("Old CD key <old@example.invalid>", "1y", &then);
                let sums = r.dir.join("SHA256SUMS");
                let sig = r.dir.join("SHA256SUMS.sign");
                old.sign(
                    &fpr,
                    &sums,
                    &sig,
                    &["--faked-system-time", "20240601T000000"],
                );
                let key = old.run(&["--armor", "--export", &fpr]);
                std::fs::write(r.dir.join("cd-key.asc"), key).unwrap();
            },
            gpg: Some("EXPKEYSIG"),
            sha256sum_passes: true,
            exit: 0,
            reason: "signed (SHA256SUMS.sign) by",
        },
        Case {
            name: "no-signature",
            tamper: |r, _, _, _| std::fs::remove_file(r.dir.join("SHA256SUMS.sign")).unwrap(),
            gpg: None,
            sha256sum_passes: true,
            exit: 3,
            reason: "the signature \"SHA256SUMS.sign\" was not fetched completely",
        },
    ];
    let w = World::new();
    let scratch = w.path("gpg");
    let signer = Gpg::new(&scratch, "debian-cd");
    // Made in 2024, valid for ten years: the expired-signature case signs in the past.
    let fpr = signer.generate(
        "Debian CD signing key <debian-cd@lists.debian.org>",
        "10y",
        &["--faked-system-time", "20240101T000000"],
    );
    for case in &cases {
        let release = release(&w, case.name, &signer, &fpr);
        let case_scratch = scratch.join(case.name);
        std::fs::create_dir_all(&case_scratch).unwrap();
        (case.tamper)(&release, &signer, &fpr, &case_scratch);
        if let Some(status) = case.gpg {
            assert_eq!(release.gpg_status(&case_scratch), status, "{}", case.name);
        }
        assert_eq!(
            release.sha256sum_check().0,
            case.sha256sum_passes,
            "{}",
            case.name
        );

        let plan = release.plan.clone();
        let ca = w.ca.root_pem.to_str().unwrap().to_owned();
        let mut names = Vec::new();
        for run in 1..=2 {
            let name = format!("{}-{run}.json", case.name);
            let out = w.tofu(&["fetch", "--ca-cert", &ca, "-o", &name, "--plan", &plan]);
            // The run is recorded, and says whether it is vouched for.
            assert_exit(&out, if case.exit == 0 { 0 } else { 1 });
            names.push(name);
        }
        let out = w.compare_bytes_only(&["--min-runs", "2", &names[0], &names[1]]);
        assert_exit(&out, case.exit);
        let text = stdout(&out);
        assert!(text.contains(case.reason), "{}: {text}", case.name);
    }
}

/// `signed-by` a key artifact with `signed-by-fingerprint`: the key file is 3TOFU'd like any
/// artifact, and only its pinned certificate may sign. A publisher (or whoever holds its
/// server) who adds a certificate of their own to the key file and signs with it fools gpg,
/// which trusts the whole file, and a plan without the pin; not the pinned plan.
#[test]
fn a_pinned_certificate_of_a_key_artifact_is_the_only_one_that_may_sign() {
    let w = World::new();
    let scratch = w.path("gpg");
    let signer = Gpg::new(&scratch, "debian-cd");
    let fpr = signer.generate("Debian CD signing key <cd@example.invalid>", "10y", &[]);
    let release = release(&w, "pinned", &signer, &fpr);
    let url = |file: &str| w.nginx.https_url(&format!("pinned/{file}"));
    let plan_with = |pin: Option<&str>| {
        let mut signed: Vec<(&str, &str)> =
            vec![("signature", "SHA256SUMS.sign"), ("signed-by", "cd-key")];
        signed.extend(pin.map(|p| ("signed-by-fingerprint", p)));
        let file = if pin.is_some() {
            "pinned-plan"
        } else {
            "open-plan"
        };
        write_plan(
            &w,
            file,
            "",
            &[
                ("netinst", url(ISO), &[("checksums", "SHA256SUMS")]),
                ("SHA256SUMS", url("SHA256SUMS"), &signed),
                ("SHA256SUMS.sign", url("SHA256SUMS.sign"), &[]),
                ("cd-key", url("cd-key.asc"), &[]),
            ],
        )
    };
    let (pinned, open) = (plan_with(Some(&fpr)), plan_with(None));
    let ca = w.ca.root_pem.to_str().unwrap().to_owned();
    // Each phase from a home of its own: one home's campaign log would (rightly) hold the
    // earlier phases' attempts, whose key file differs, against the later ones.
    let two_runs = |plan: &str, tag: &str| -> std::process::Output {
        let home = w.path(&format!("home-{tag}"));
        let mut names = Vec::new();
        for run in 1..=2 {
            let name = format!("{tag}-{run}.json");
            w.tofu_in(
                &home,
                &["fetch", "--ca-cert", &ca, "-o", &name, "--plan", plan],
            );
            names.push(name);
        }
        let compare = ["compare", "--require", "none", "--min-runs", "2"];
        w.tofu_in(&home, &[&compare[..], &[&names[0], &names[1]]].concat())
    };

    // Signed by the pinned certificate: agree, and the report says which and from where.
    let out = two_runs(&pinned, "honest");
    assert_exit(&out, 0);
    assert!(
        stdout(&out).contains(&format!(
            "by {fpr} (certificate {fpr}, pinned in the plan, from cd-key"
        )),
        "{}",
        stdout(&out)
    );
    let t = w.read_json("honest-1.json");
    let signed_by = &artifact_by_id(&t, "SHA256SUMS")["signature"]["signed_by"];
    assert_eq!(signed_by["artifact"], "cd-key");
    assert_eq!(signed_by["fingerprint"], fpr.as_str());

    // Mallory's certificate added to the served key file, and the list signed with it.
    let mallory = Gpg::new(&scratch, "mallory");
    let theirs = mallory.generate("Mallory <m@example.invalid>", "1y", &[]);
    let key_file = release.dir.join("cd-key.asc");
    let mut both = std::fs::read(&key_file).unwrap();
    both.extend(mallory.run(&["--armor", "--export", &theirs]));
    std::fs::write(&key_file, both).unwrap();
    mallory.sign(
        &theirs,
        &release.dir.join("SHA256SUMS"),
        &release.dir.join("SHA256SUMS.sign"),
        &[],
    );
    std::fs::create_dir_all(scratch.join("check")).unwrap();
    assert_eq!(release.gpg_status(&scratch.join("check")), "GOODSIG");
    assert_exit(&two_runs(&open, "open"), 0);
    let out = two_runs(&pinned, "attacked");
    assert_exit(&out, 1);
    assert!(
        stdout(&out).contains("no valid signature by the keys named"),
        "{}",
        stdout(&out)
    );

    // The key file replaced by Mallory's certificate alone: the unpinned plan agrees with
    // whatever the server says the key is; the pinned plan finds no certificate to trust.
    std::fs::write(&key_file, mallory.run(&["--armor", "--export", &theirs])).unwrap();
    assert_exit(&two_runs(&open, "open-replaced"), 0);
    let out = two_runs(&pinned, "replaced");
    assert_exit(&out, 1);
    assert!(
        stdout(&out).contains("none of the keys given"),
        "{}",
        stdout(&out)
    );
}

/// A Tails-shaped plan: an image signed directly (its armored `.sig`), checked while the
/// 3 MiB body streams, by a certificate the plan pins from a key file the user holds. A
/// second certificate in that key file may not sign in its place.
#[test]
fn an_image_signed_by_a_pinned_certificate_is_checked_as_it_streams() {
    let w = World::new();
    let scratch = w.path("gpg");
    let tails = Gpg::new(&scratch, "tails");
    let fpr = tails.generate("Tails developers <tails@example.invalid>", "5y", &[]);
    let other = tails.generate("Someone else <else@example.invalid>", "5y", &[]);
    let dir = w.path("www/tails");
    std::fs::create_dir_all(&dir).unwrap();
    let image = dir.join("tails-amd64-7.2.img");
    std::fs::write(&image, payload()).unwrap();
    // The user's key file holds both certificates; the plan pins one.
    std::fs::write(
        w.path("tails-keys.asc"),
        tails.run(&["--armor", "--export", &fpr, &other]),
    )
    .unwrap();
    let plan = |file: &str, pinned: &str| {
        let img = w.nginx.https_url("tails/tails-amd64-7.2.img");
        let sig = w.nginx.https_url("tails/tails-amd64-7.2.img.sig");
        let signed = [("signature", "tails.img.sig"), ("signed-by", pinned)];
        write_plan(
            &w,
            file,
            "keyrings = [\"tails-keys.asc\"]",
            &[("tails.img", img, &signed), ("tails.img.sig", sig, &[])],
        )
    };
    let ca = w.ca.root_pem.to_str().unwrap().to_owned();
    let sig = dir.join("tails-amd64-7.2.img.sig");
    let verifier = Gpg::new(&scratch, "verifier");
    verifier.run(&["--import", w.path("tails-keys.asc").to_str().unwrap()]);

    // Signed by the pinned certificate: valid, as gpg says.
    tails.sign(&fpr, &image, &sig, &["--armor"]);
    assert_eq!(verifier.status(&sig, &image), "GOODSIG");
    let spaced = format!("0x{} {}", &fpr[..20].to_lowercase(), &fpr[20..]);
    let out = w.tofu(&[
        "fetch",
        "--ca-cert",
        &ca,
        "-o",
        "good.json",
        "--plan",
        &plan("good", &spaced),
    ]);
    assert_exit(&out, 0);
    let t = w.read_json("good.json");
    let record = &artifact_by_id(&t, "tails.img")["signature"];
    assert_eq!(record["signed_by"]["fingerprint"], fpr.as_str());
    assert_eq!(
        record["signed_by"]["key_file_sha256"],
        tool_digest("sha256sum", &w.path("tails-keys.asc"))
    );
    assert_eq!(record["checks"][0]["outcome"], "valid");
    assert_eq!(record["checks"][0]["signer"], fpr.as_str());
    assert!(stderr(&out).contains(&format!("signature tails.img.sig: valid, by {fpr}")));

    // Signed by the other certificate of the same key file: gpg, which trusts the whole
    // file, says good; the plan pins one certificate, so tofu does not.
    tails.sign(&other, &image, &sig, &["--armor"]);
    assert_eq!(verifier.status(&sig, &image), "GOODSIG");
    let out = w.tofu(&[
        "fetch",
        "--ca-cert",
        &ca,
        "-o",
        "other.json",
        "--plan",
        &plan("other", &fpr),
    ]);
    assert_exit(&out, 1);
    let t = w.read_json("other.json");
    let record = &artifact_by_id(&t, "tails.img")["signature"];
    assert_eq!(record["checks"][0]["outcome"], "no-key");
    assert!(stderr(&out).contains("DOES NOT VOUCH"), "{}", stderr(&out));

    // A fingerprint no key file of the plan holds is refused before anything is fetched.
    let stranger = "0123456789ABCDEF0123456789ABCDEF01234567";
    let out = w.tofu(&[
        "fetch",
        "--ca-cert",
        &ca,
        "-o",
        "none.json",
        "--plan",
        &plan("none", stranger),
    ]);
    assert_exit(&out, 2);
    assert!(
        stderr(&out).contains(&format!(
            "no key file of the plan's keyrings holds certificate {stranger}"
        )),
        "{}",
        stderr(&out)
    );
    assert!(!w.path("none.json").exists());
}

/// A run killed while the signed image downloads keeps the signature and key it had
/// fetched (beside its journal, checked against the digests the signed journal names); the
/// resumed run checks the whole image, the bytes before the kill read back from disk.
#[test]
fn a_resumed_run_checks_the_signature_with_what_it_held_before_the_kill() {
    use crate::resume::{SLOW, journal_state, kill_mid_download_of};
    let w = World::new();
    let server = tofu_testkit::Flaky::start(tofu_testkit::Flaky::pattern(6 << 20));
    let scratch = w.path("gpg");
    let signer = Gpg::new(&scratch, "signer");
    let fpr = signer.generate("Release <release@example.invalid>", "5y", &[]);
    let dir = w.path("www/rel");
    std::fs::create_dir_all(&dir).unwrap();
    let image = dir.join("image");
    std::fs::write(&image, &server.first().bytes).unwrap();
    signer.sign(&fpr, &image, &dir.join("image.sig"), &[]);
    std::fs::write(
        dir.join("key.asc"),
        signer.run(&["--armor", "--export", &fpr]),
    )
    .unwrap();
    let plan = write_plan(
        &w,
        "slow",
        "",
        &[
            (
                "image",
                server.url(SLOW),
                &[("signature", "image.sig"), ("signed-by", "key")],
            ),
            ("image.sig", w.nginx.https_url("rel/image.sig"), &[]),
            ("key", w.nginx.https_url("rel/key.asc"), &[]),
        ],
    );
    let ca = w.ca.root_pem.to_str().unwrap().to_owned();
    kill_mid_download_of(&w, &["--ca-cert", &ca, "--plan", &plan]);
    let state = journal_state(&w).unwrap();
    assert_eq!(state["done"].as_array().unwrap().len(), 2, "{state}");
    let held = w.path("run.json.resume.held");
    assert_eq!(std::fs::read_dir(&held).unwrap().count(), 2);

    let out = w.tofu(&[
        "fetch",
        "--ca-cert",
        &ca,
        "-o",
        "run.json",
        "--keep",
        "keep",
        "--resume",
        "--plan",
        &plan,
    ]);
    assert_exit(&out, 0);
    let t = w.read_json("run.json");
    assert_eq!(t["run"]["interruptions"].as_array().unwrap().len(), 1);
    let record = &artifact_by_id(&t, "image")["signature"];
    assert_eq!(record["checks"][0]["outcome"], "valid", "{record}");
    assert_eq!(record["checks"][0]["signer"], fpr.as_str());
    assert_eq!(signer.status(&dir.join("image.sig"), &image), "GOODSIG");
    assert!(!held.exists(), "the held bodies go with the journal");
}
