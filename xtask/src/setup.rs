//! `cargo xtask setup`: installs what the selected suites need, idempotently, and says what it does.
//!
//! apt packages (retrying with backoff when another process holds the dpkg lock — this machine is
//! shared), a Python venv under `target/interop/venv`, npm packages under `target/interop/node`,
//! and cargo-fuzz.

use crate::suites::{Need, Suite};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

/// The union of what some suites need.
#[derive(Default)]
pub struct Needs(Vec<Need>);

impl Needs {
    pub fn for_suites(suites: &[Suite]) -> Needs {
        let mut needs = Needs::default();
        for need in suites.iter().flat_map(|s| s.needs.iter()) {
            if !needs.0.contains(need) {
                needs.0.push(*need);
            }
        }
        needs
    }

    pub fn for_demo() -> Needs {
        let demo: Vec<Suite> = crate::suites::all()
            .into_iter()
            .filter(|s| s.name == "workspace-unit")
            .collect();
        Needs::for_suites(&demo)
    }
}

/// Where the interop venv lives.
pub fn venv_dir() -> PathBuf {
    crate::workspace_root().join("target/interop/venv")
}

/// Where the interop npm packages live (`node_modules` is below it).
pub fn node_dir() -> PathBuf {
    crate::workspace_root().join("target/interop/node")
}

/// Where the wolfSSL build for DTLS 1.3 interop lives.
pub fn wolfssl_dir() -> PathBuf {
    crate::workspace_root().join("target/interop/wolfssl")
}

/// Environment handed to every suite so tests find the installed peers.
pub fn suite_env() -> Vec<(String, String)> {
    vec![
        (
            "TERN_PYTHON".into(),
            venv_dir().join("bin/python").display().to_string(),
        ),
        (
            "TERN_NODE_MODULES".into(),
            node_dir().join("node_modules").display().to_string(),
        ),
        (
            "TERN_WORKSPACE".into(),
            crate::workspace_root().display().to_string(),
        ),
        (
            "TERN_WOLFSSL_DIR".into(),
            wolfssl_dir().display().to_string(),
        ),
    ]
}

pub fn run(needs: &Needs) -> Result<(), String> {
    let apt: Vec<&str> = needs
        .0
        .iter()
        .filter_map(|n| if let Need::Apt(p) = n { Some(*p) } else { None })
        .collect();
    let pip: Vec<(&str, &str)> = needs
        .0
        .iter()
        .filter_map(|n| {
            if let Need::Pip { package, import } = n {
                Some((*package, *import))
            } else {
                None
            }
        })
        .collect();
    let npm: Vec<(&str, &str)> = needs
        .0
        .iter()
        .filter_map(|n| {
            if let Need::Npm { package, dir } = n {
                Some((*package, *dir))
            } else {
                None
            }
        })
        .collect();
    let fuzz = needs.0.contains(&Need::CargoFuzz);

    let missing_apt: Vec<&str> = apt.iter().copied().filter(|p| !dpkg_installed(p)).collect();
    if missing_apt.is_empty() {
        println!("setup: apt: all {} packages present", apt.len());
    } else {
        require_root("install Debian packages")?;
        println!("setup: apt: installing {}", missing_apt.join(" "));
        apt_install(&missing_apt)?;
    }
    if !pip.is_empty() {
        setup_venv(&pip)?;
    }
    if !npm.is_empty() {
        setup_npm(&npm)?;
    }
    if fuzz {
        setup_cargo_fuzz()?;
    }
    if needs.0.contains(&Need::WolfSsl) {
        setup_wolfssl()?;
    }
    Ok(())
}

/// Builds wolfSSL's example server and client with DTLS 1.3 under `target/interop/wolfssl`
/// from the wolfSSL 5.9.4 source inside the `wolfssl-sys` 5.3.0 crate (fetched by `cargo info`).
fn setup_wolfssl() -> Result<(), String> {
    let dir = wolfssl_dir();
    let built = |d: &std::path::Path| {
        d.join("examples/server/server").exists() && d.join("examples/client/client").exists()
    };
    if built(&dir) {
        println!("setup: wolfSSL with DTLS 1.3 present ({})", dir.display());
        return Ok(());
    }
    println!("setup: fetching the wolfSSL 5.9.4 source (crate wolfssl-sys 5.3.0)");
    let fetched = Command::new("cargo")
        .args(["info", "wolfssl-sys@5.3.0"])
        .stdout(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if !fetched {
        return Err("setup: cargo info wolfssl-sys@5.3.0 failed (offline?)".into());
    }
    let cargo_home = std::env::var("CARGO_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            PathBuf::from(std::env::var("HOME").unwrap_or_default()).join(".cargo")
        });
    let registry = cargo_home.join("registry/src");
    let source = std::fs::read_dir(&registry)
        .map_err(|e| format!("setup: {}: {e}", registry.display()))?
        .filter_map(Result::ok)
        .map(|index| index.path().join("wolfssl-sys-5.3.0/wolfssl-src"))
        .find(|p| p.join("configure.ac").exists())
        .ok_or("setup: the wolfssl-sys 5.3.0 source was not found in the cargo registry")?;
    let _ = std::fs::remove_dir_all(&dir);
    let (source, dir_text) = (
        source.to_string_lossy().into_owned(),
        dir.to_string_lossy().into_owned(),
    );
    let steps: [(&str, Vec<&str>); 4] = [
        ("copy", vec!["cp", "-r", &source, &dir_text]),
        (
            "autogen",
            vec!["sh", "-c", "cd \"$0\" && ./autogen.sh", &dir_text],
        ),
        (
            "configure",
            vec![
                "sh",
                "-c",
                "cd \"$0\" && ./configure --enable-dtls --enable-dtls13 --enable-tls13 \
                 --enable-curve25519 --enable-srtp --enable-dtls-mtu --enable-dtls-frag-ch \
                 --enable-examples --disable-crypttests --disable-benchmark --disable-shared \
                 --enable-static --enable-keying-material --disable-oldtls \
                 CFLAGS='-O2 -DHAVE_SECRET_CALLBACK'",
                &dir_text,
            ],
        ),
        (
            "make",
            vec![
                "sh",
                "-c",
                "cd \"$0\" && make -j2 examples/server/server examples/client/client",
                &dir_text,
            ],
        ),
    ];
    println!(
        "setup: building wolfSSL with DTLS 1.3 in {} (a few minutes)",
        dir.display()
    );
    for (what, argv) in steps {
        let (program, args) = argv.split_first().ok_or("empty command")?;
        let output = Command::new(program)
            .args(args)
            .output()
            .map_err(|e| format!("setup: wolfSSL {what}: {e}"))?;
        if !output.status.success() {
            let tail: String = String::from_utf8_lossy(&output.stderr)
                .lines()
                .rev()
                .take(10)
                .collect::<Vec<_>>()
                .join("\n");
            return Err(format!("setup: wolfSSL {what} failed:\n{tail}"));
        }
    }
    if built(&dir) {
        Ok(())
    } else {
        Err("setup: wolfSSL built but its example server/client are missing".into())
    }
}

fn require_root(what: &str) -> Result<(), String> {
    let uid = crate::process::first_line(&["id", "-u"]).unwrap_or_default();
    if uid == "0" {
        Ok(())
    } else {
        Err(format!(
            "setup: must run as root to {what} (uid is {uid}); run `sudo cargo xtask setup` once"
        ))
    }
}

fn dpkg_installed(package: &str) -> bool {
    Command::new("dpkg-query")
        .args(["-W", "-f=${Status}", package])
        .stderr(Stdio::null())
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).contains("install ok installed"))
        .unwrap_or(false)
}

/// apt with retries: another process may hold the dpkg lock, or a package file may vanish when
/// someone else runs apt at the same time.
fn apt_install(packages: &[&str]) -> Result<(), String> {
    let mut last = String::new();
    for attempt in 1..=6u64 {
        let update = apt(&["update", "-qq"]);
        let install = update.and_then(|()| {
            let mut args = vec!["install", "-y", "-qq", "--no-install-recommends"];
            args.extend_from_slice(packages);
            apt(&args)
        });
        match install {
            Ok(()) => return Ok(()),
            Err(e)
                if e.contains("Could not resolve") || e.contains("Temporary failure resolving") =>
            {
                return Err(format!(
                    "setup: cannot reach Debian's package servers (offline?): {e}"
                ));
            }
            Err(e) => {
                let wait = 10 * attempt;
                println!(
                    "setup: apt failed (attempt {attempt}/6), retrying in {wait}s: {}",
                    e.lines().last().unwrap_or("")
                );
                last = e;
                std::thread::sleep(Duration::from_secs(wait));
            }
        }
    }
    Err(format!(
        "setup: apt-get install {} failed 6 times: {last}",
        packages.join(" ")
    ))
}

fn apt(args: &[&str]) -> Result<(), String> {
    let out = Command::new("apt-get")
        .args(args)
        .env("DEBIAN_FRONTEND", "noninteractive")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run apt-get: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

fn setup_venv(packages: &[(&str, &str)]) -> Result<(), String> {
    let venv = venv_dir();
    let python = venv.join("bin/python");
    if !python.exists() {
        println!("setup: creating the interop venv at {}", venv.display());
        let ok = Command::new("python3")
            .args(["-m", "venv"])
            .arg(&venv)
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        if !ok {
            return Err("setup: `python3 -m venv` failed (is python3-venv installed?)".into());
        }
    }
    let missing: Vec<&str> = packages
        .iter()
        .filter(|(_, import)| {
            !Command::new(&python)
                .args(["-c", &format!("import {import}")])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .map(|s| s.success())
                .unwrap_or(false)
        })
        .map(|(package, _)| *package)
        .collect();
    if missing.is_empty() {
        println!("setup: venv: {} packages present", packages.len());
        return Ok(());
    }
    println!("setup: pip install {}", missing.join(" "));
    let ok = Command::new(&python)
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
        ])
        .args(&missing)
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if ok {
        Ok(())
    } else {
        Err(format!("setup: pip install {} failed", missing.join(" ")))
    }
}

fn setup_npm(packages: &[(&str, &str)]) -> Result<(), String> {
    let dir = node_dir();
    std::fs::create_dir_all(&dir)
        .map_err(|e| format!("setup: cannot create {}: {e}", dir.display()))?;
    let missing: Vec<&str> = packages
        .iter()
        .filter(|(_, name)| {
            !dir.join("node_modules")
                .join(name)
                .join("package.json")
                .exists()
        })
        .map(|(package, _)| *package)
        .collect();
    if missing.is_empty() {
        println!("setup: npm: {} packages present", packages.len());
        return Ok(());
    }
    println!(
        "setup: npm install {} (under {})",
        missing.join(" "),
        dir.display()
    );
    let ok = Command::new("npm")
        .args(["install", "--no-audit", "--no-fund", "--prefix"])
        .arg(&dir)
        .args(&missing)
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if ok {
        Ok(())
    } else {
        Err(format!("setup: npm install {} failed", missing.join(" ")))
    }
}

fn setup_cargo_fuzz() -> Result<(), String> {
    let present = Command::new("cargo")
        .args(["fuzz", "--version"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if present {
        println!("setup: cargo-fuzz present");
        return Ok(());
    }
    println!("setup: cargo install cargo-fuzz --locked (about 3 minutes on 2 cores)");
    let ok = Command::new("cargo")
        .args(["install", "cargo-fuzz", "--locked"])
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if ok {
        Ok(())
    } else {
        Err("setup: cargo install cargo-fuzz failed".into())
    }
}
