//! The kernel's BTF and trace events, read from its image (no DWARF, no
//! guest): what `kernel.trace` and BTF-typed target variables need.
//!
//! Input: a kernel image (`vmlinuz` bzImage or an ELF `vmlinux`; the
//! testbed's, or `/boot/vmlinuz-RELEASE`). Output: a [`BtfDebugInfo`]
//! with the image's `.BTF` and its trace events `(system, event)`.
//! The events are found as the kernel itself lists them: the image's
//! `.init.data` holds the `_ftrace_events` array of pointers to each
//! event's `struct trace_event_call`, whose `class->system` names the
//! subsystem and whose `tp->name` the tracepoint; the layouts of those
//! structs come from the BTF. A pointer is taken as an event only when
//! that whole chain resolves to identifier strings and the tracepoint has
//! a `btf_trace_NAME` typedef, so stray words in `.init.data` cannot pass.
//! Invariants: every read of the image is bounds-checked; the result is
//! cached (keyed by the image's path, size and mtime) next to a testbed's
//! image, else in rstap's debuginfo cache, so each image is decompressed
//! once; a cache file that does not parse is ignored and rewritten.

use std::path::{Path, PathBuf};

use object::{Object, ObjectSection};

use super::btf::BtfDebugInfo;

/// The image file of `release`: the testbed's when given, else `/boot`'s.
pub fn image_path(release: &str, testbed_image: Option<&Path>) -> Option<PathBuf> {
    let mut cands: Vec<PathBuf> = Vec::new();
    if let Some(t) = testbed_image {
        cands.push(t.to_path_buf());
    }
    if let Ok(tb) = crate::cache_dir::cache_path(crate::cache_dir::CacheKind::Testbed) {
        cands.push(tb.join(release).join("boot").join(format!("vmlinuz-{release}")));
    }
    cands.push(PathBuf::from(format!("/boot/vmlinuz-{release}")));
    cands.into_iter().find(|p| p.is_file())
}

const MAGIC: &[u8] = b"rstap-btf-events 1\n";

/// Next to a testbed's image (`<testbed>/RELEASE/boot/vmlinuz-RELEASE`),
/// as the testbed keeps its kernel's kallsyms; else in the debuginfo cache.
fn cache_file(release: &str, image: &Path) -> Option<PathBuf> {
    if let Ok(tb) = crate::cache_dir::cache_path(crate::cache_dir::CacheKind::Testbed) {
        if image.starts_with(&tb) {
            return Some(image.parent()?.parent()?.join("btf-events"));
        }
    }
    let dir = crate::cache_dir::cache_dir(crate::cache_dir::CacheKind::Debuginfo).ok()?;
    Some(dir.join(format!("btf-{release}")))
}

fn stamp(image: &Path) -> Option<String> {
    let m = std::fs::metadata(image).ok()?;
    let mtime = m.modified().ok()?.duration_since(std::time::UNIX_EPOCH).ok()?.as_secs();
    Some(format!("{} {} {}\n", image.display(), m.len(), mtime))
}

/// Cache layout: MAGIC, the stamp line, `system:event` lines, an empty
/// line, then the raw `.BTF` bytes.
fn read_cache(path: &Path, stamp: &str) -> Option<BtfDebugInfo> {
    let data = std::fs::read(path).ok()?;
    let rest = data.strip_prefix(MAGIC)?.strip_prefix(stamp.as_bytes())?;
    let end = rest.windows(2).position(|w| w == b"\n\n")?;
    let text = std::str::from_utf8(&rest[..end]).ok()?;
    let events = text.lines().filter_map(|l| l.split_once(':')).map(|(s, e)| (s.to_string(), e.to_string())).collect();
    let mut btf = BtfDebugInfo::parse(&rest[end + 2..]).ok()?;
    btf.set_events(events);
    Some(btf)
}

fn write_cache(path: &Path, stamp: &str, btf_bytes: &[u8], events: &[(String, String)]) {
    let mut out = MAGIC.to_vec();
    out.extend_from_slice(stamp.as_bytes());
    for (s, e) in events {
        out.extend_from_slice(format!("{s}:{e}\n").as_bytes());
    }
    out.push(b'\n');
    out.extend_from_slice(btf_bytes);
    let tmp = path.with_extension(format!("tmp.{}", std::process::id()));
    if std::fs::write(&tmp, &out).is_ok() {
        let _ = std::fs::rename(&tmp, path);
    }
}

/// The BTF and trace events of the kernel whose image is `image`.
pub fn load(release: &str, image: &Path, verbose: bool) -> Result<BtfDebugInfo, String> {
    let stamp = stamp(image).ok_or_else(|| format!("cannot read {}", image.display()))?;
    let cache = cache_file(release, image);
    if let Some(btf) = cache.as_deref().and_then(|c| read_cache(c, &stamp)) {
        return Ok(btf);
    }
    let t = std::time::Instant::now();
    let data = std::fs::read(image).map_err(|e| format!("cannot read {}: {e}", image.display()))?;
    let vmlinux = if data.starts_with(b"\x7fELF") {
        data
    } else {
        super::image::image_vmlinux(&data)
            .map_err(|e| format!("{}: {e}", image.display()))?
            .ok_or_else(|| format!("{}: the kernel image uses a compression rstap does not decode (only LZ4 and zstd)", image.display()))?
    };
    let (btf_bytes, events) = from_vmlinux(&vmlinux).map_err(|e| format!("{}: {e}", image.display()))?;
    let mut btf = BtfDebugInfo::parse(&btf_bytes).map_err(|e| format!("{}: {e}", image.display()))?;
    btf.set_events(events);
    if verbose {
        eprintln!("btf: {} types and {} trace events from {} in {} ms", btf.len(), btf.events().len(), image.display(), t.elapsed().as_millis());
    }
    if let Some(c) = &cache {
        write_cache(c, &stamp, &btf_bytes, btf.events());
    }
    Ok(btf)
}

/// The raw `.BTF` bytes of the kernel whose image is `image` (what split
/// module BTF extends), from the cache [`load`] keeps.
pub fn raw_btf(release: &str, image: &Path) -> Option<Vec<u8>> {
    let stamp = stamp(image)?;
    let path = cache_file(release, image)?;
    if read_cache(&path, &stamp).is_none() {
        load(release, image, false).ok()?;
    }
    let data = std::fs::read(&path).ok()?;
    let rest = data.strip_prefix(MAGIC)?.strip_prefix(stamp.as_bytes())?;
    let end = rest.windows(2).position(|w| w == b"\n\n")?;
    Some(rest[end + 2..].to_vec())
}

/// The allocated sections of an ELF image: `(address, bytes)`.
struct Memory<'d> {
    sections: Vec<(u64, &'d [u8])>,
}

impl Memory<'_> {
    fn read(&self, addr: u64, n: usize) -> Option<&[u8]> {
        self.sections.iter().find_map(|(a, d)| {
            let off = usize::try_from(addr.checked_sub(*a)?).ok()?;
            d.get(off..off.checked_add(n)?)
        })
    }
    fn u64_at(&self, addr: u64) -> Option<u64> {
        self.read(addr, 8).map(|b| u64::from_le_bytes(b.try_into().unwrap_or([0; 8])))
    }
    /// A NUL-terminated C identifier of at most 63 bytes at `addr`.
    fn ident(&self, addr: u64) -> Option<String> {
        let mut s = Vec::new();
        for k in 0..64 {
            let b = *self.read(addr + k, 1)?.first()?;
            if b == 0 {
                break;
            }
            if !(b == b'_' || b.is_ascii_alphanumeric()) {
                return None;
            }
            s.push(b);
        }
        (!s.is_empty() && s.len() < 64).then(|| String::from_utf8_lossy(&s).into_owned())
    }
}

/// The trace events of a kernel: `(system, event)`.
pub type Events = Vec<(String, String)>;

/// The `.BTF` bytes and the trace events of a vmlinux ELF.
pub fn from_vmlinux(elf: &[u8]) -> Result<(Vec<u8>, Events), String> {
    let obj = object::File::parse(elf).map_err(|e| format!("not an ELF kernel: {e}"))?;
    let btf_sec = obj.section_by_name(".BTF").ok_or("the kernel has no .BTF section (built without CONFIG_DEBUG_INFO_BTF)")?;
    let btf_bytes = btf_sec.data().map_err(|e| e.to_string())?.to_vec();
    let btf = BtfDebugInfo::parse(&btf_bytes).map_err(|e| e.to_string())?;
    let mem = Memory {
        sections: obj
            .sections()
            .filter(|s| s.address() != 0 && s.kind() != object::SectionKind::UninitializedData)
            .filter_map(|s| Some((s.address(), s.data().ok()?)))
            .collect(),
    };
    let off = |ty: &str, path: &[&str]| btf.member_offset(ty, path).ok_or_else(|| format!("BTF has no {ty} member {}", path.join(".")));
    let class_off = off("struct trace_event_call", &["class"])?;
    let tp_off = off("struct trace_event_call", &["tp"])?;
    let system_off = off("struct trace_event_class", &["system"])?;
    let name_off = off("struct tracepoint", &["name"])?;
    let known: std::collections::HashSet<String> = btf.typedef_names("btf_trace_").collect();
    let init = obj.section_by_name(".init.data").ok_or("the kernel image has no .init.data section")?;
    let init = init.data().map_err(|e| e.to_string())?;
    let mut events = Vec::new();
    for w in init.chunks_exact(8) {
        let p = u64::from_le_bytes(w.try_into().unwrap_or([0; 8]));
        if p < 0xffff_0000_0000_0000 {
            continue;
        }
        let Some(class) = mem.u64_at(p + class_off) else { continue };
        let Some(tp) = mem.u64_at(p + tp_off) else { continue };
        let (Some(sys), Some(name)) = (mem.u64_at(class + system_off), mem.u64_at(tp + name_off)) else { continue };
        let Some(name) = mem.ident(name) else { continue };
        if !known.contains(&name) {
            continue;
        }
        if let Some(sys) = mem.ident(sys) {
            events.push((sys, name));
        }
    }
    if events.is_empty() {
        return Err("found no trace events in the kernel image".into());
    }
    Ok((btf_bytes, events))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::debuginfo::DebugInfo;

    /// Both testbed kernels (when set up): their images hold the BTF and
    /// events that `kernel.trace("sched:sched_switch")` needs.
    #[test]
    fn testbed_images_give_btf_and_events() {
        let Ok(cache) = crate::cache_dir::cache_path(crate::cache_dir::CacheKind::Testbed) else { return };
        let Ok(entries) = std::fs::read_dir(&cache) else { return };
        for e in entries.flatten() {
            let rel = e.file_name().to_string_lossy().into_owned();
            let image = e.path().join(format!("boot/vmlinuz-{rel}"));
            let Ok(data) = std::fs::read(&image) else { continue };
            let vmlinux = crate::debuginfo::image::image_vmlinux(&data).unwrap().expect("LZ4 or zstd");
            let (bytes, events) = from_vmlinux(&vmlinux).unwrap();
            assert!(events.len() > 300, "{rel}: {} events", events.len());
            assert!(events.contains(&("sched".into(), "sched_switch".into())), "{rel}");
            assert!(events.contains(&("raw_syscalls".into(), "sys_enter".into())), "{rel}");
            assert!(events.contains(&("signal".into(), "signal_generate".into())), "{rel}");
            let btf = BtfDebugInfo::parse(&bytes).unwrap();
            let f = btf.func("__traceiter_sched_switch").unwrap();
            let vars = btf.variables(f as u64, 0).unwrap();
            let shown: Vec<String> = vars.iter().map(|v| format!("{}:{}", v.name, v.type_name)).collect();
            assert_eq!(shown[..3], ["preempt:bool", "prev:struct task_struct*", "next:struct task_struct*"], "{rel}");
            assert_eq!(vars[1].location, crate::debuginfo::VarLocation::Available(crate::debuginfo::btf::param_location(2)));
            assert!(btf.member_offset("struct task_struct", &["comm"]).is_some());
        }
    }
}
