// The VM runner in C++: boots one of Debian's cloud kernels under QEMU with a
// static /init (the executor's `vm-init` mode) and a batch of scenario files, and
// returns the raw JSON lines the init wrote to its results port (ttyS1).
//
// This is a thin wrapper around oracle/vm/run-vm.sh (which uses fetch-kernels.sh
// for the kernel cache); see oracle/vm/README.md. Only the C++ standard library
// and POSIX are used: the caller parses the lines with the format library.
#pragma once

#include <string>
#include <vector>

namespace pidlab::oracle::vm {

struct VmOptions {
    // Kernel cache; empty: ${PIDLAB_CACHE:-$HOME/.cache/pidlab}/kernels.
    std::string cache_dir;
    // QEMU is killed after this many seconds (the boot itself takes 2–5 s under TCG).
    int timeout_seconds = 300;
    // vCPUs (QEMU -smp, multi-threaded TCG when more than one; the init runs a
    // scenario per vCPU at a time). 0: one per host CPU, at most 4 (run-vm.sh's default).
    int smp = 0;
    int memory_mb = 1024;
    // Ask the archive for the newest build first (otherwise the cached one is
    // booted, and the archive is asked only when the cache has none).
    bool fetch = false;
    // Never contact the archive: boot the cached kernel or fail.
    bool offline = false;
    // More kernel command-line arguments, appended to
    // "console=ttyS0 panic=-1 quiet rdinit=/init".
    std::string extra_append;
    // /init's arguments (the kernel command line's words after `--`): the
    // executor's mode. Words without spaces or quotes; empty: no arguments.
    std::vector<std::string> init_args = {"vm-init"};
    // Where run-vm.sh, fetch-kernels.sh live; empty: $PIDLAB_VM_SCRIPTS, else the
    // source tree's oracle/vm (compiled in), else next to the running executable
    // (DIR/run-vm.sh or DIR/vm/run-vm.sh).
    std::string scripts_dir;
    // Keep the temporary directory (initramfs inputs, results, console, script log).
    bool keep_work_dir = false;
    // Boots in all when the guest kernel crashes (panic, oops) or the VM writes no
    // result: under TCG that happens now and then for the emulation's reasons. Each
    // crash is noted on stderr and in VmRun::crashed_boots; the last boot's run is returned.
    int boot_attempts = 3;
};

struct VmRun {
    // Which Debian build booted (from the kernel cache's manifest).
    std::string series, package, version, release;
    // The init's lines from ttyS1, in order, without '\r' and without empty lines.
    // When the run completed, the last one is {"done": true, "kernel": ..., "scenarios": N}.
    std::vector<std::string> lines;
    // The guest's kernel console (ttyS0).
    std::string console_log;
    // True when the last line is a done line naming the booted kernel release.
    bool completed = false;
    // Empty on success; otherwise what went wrong (timeout, panic, setup error).
    std::string error;

    // More detail.
    std::string suite;          // Debian suite the package came from
    std::string status;         // ok | timeout | no-done | wrong-kernel | setup-error
    double seconds = 0;         // QEMU's wall time
    int exit_status = -1;       // run-vm.sh's exit status
    std::string header;         // the results file's first line ({"vm": {...}})
    std::string work_dir;       // set when keep_work_dir
    int boots = 0;              // how many times the VM was booted (VmOptions::boot_attempts)
    std::vector<std::string> crashed_boots;  // the crash line of each boot that was retried
};

// Boot `series` (one of known_series()) with `init_binary` as /init and the
// scenario files, in the given order, as /pidlab/scenarios/NNNN-NAME.json.
// Never throws for a failed boot: see VmRun::completed and VmRun::error.
VmRun run_in_vm(const std::string& series, const std::string& init_binary,
                const std::vector<std::string>& scenario_files, const VmOptions& options = {});

// The kernel series the runner knows: 6.1 6.12 7.1 7.2 7.3 (oldest first).
std::vector<std::string> known_series();

// The directory that holds run-vm.sh for these options ("" if none is found).
std::string find_scripts_dir(const VmOptions& options = {});

}  // namespace pidlab::oracle::vm
