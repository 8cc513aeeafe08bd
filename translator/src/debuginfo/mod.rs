//! Kernel debuginfo and symbol tables for pass 2.
//!
//! Input: files of the target kernel (System.map, vmlinux DWARF). Output:
//! plain data that pass 2 queries through traits (`probes::KernelSymbols`),
//! so that semantic tests run without a kernel.

pub mod system_map;
