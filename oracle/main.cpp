// pidlab-oracle: runs scenarios with real system calls on the running kernel.
//
//   pidlab-oracle run [--step-timeout-ms N] [--scenario-timeout-ms N] [--max-tasks N] [--jobs N]
//                     [--out PATH] [--tmpdir DIR] [--debug-stall STEP:MS] [--profile] FILE...
//   pidlab-oracle vm-init [--step-timeout-ms=N] [--scenario-timeout-ms=N] [--max-tasks=N] [--jobs=N]
//                                (as /init of a QEMU initramfs; any pid 1 runs this)
//
// --jobs N runs N scenarios at once, each job an executor of its own (run: 1 by
// default; vm-init: one per online CPU, or pidlab.jobs=N on the kernel command line).
// Output: one JSON line per scenario (the scenario format's RunResult) in the
// files' order, then {"done": true, "kernel": RELEASE, "scenarios": N}.
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "oracle/controller.hpp"
#include "oracle/jobs.hpp"
#include "oracle/puppet.hpp"

namespace {

using pidlab::oracle::RunOptions;
using pidlab::oracle::run_files;
using pidlab::oracle::write_line;

const char* const kUsage =
    "usage: pidlab-oracle run [--step-timeout-ms N] [--scenario-timeout-ms N] [--max-tasks N] [--jobs N]\n"
    "                         [--out PATH] [--tmpdir DIR] [--debug-stall STEP:MS] [--profile] FILE...\n"
    "       pidlab-oracle vm-init [--step-timeout-ms=N] [--scenario-timeout-ms=N] [--max-tasks=N] [--jobs=N]\n";

struct Usage : std::runtime_error {
    using std::runtime_error::runtime_error;
};

int to_int(const std::string& opt, const std::string& v, int lo) {
    try {
        size_t used = 0;
        long n = std::stol(v, &used);
        if (used != v.size() || n < lo || n > 1000000000) throw std::invalid_argument(v);
        return static_cast<int>(n);
    } catch (const std::exception&) {
        throw Usage(opt + ": expected an integer >= " + std::to_string(lo) + ", got \"" + v + "\"");
    }
}

int cmd_run(int argc, char** argv) {
    RunOptions opts;
    std::string out_path;
    std::vector<std::string> files;
    int jobs = 1;
    for (int i = 2; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "--") {
            files.insert(files.end(), argv + i + 1, argv + argc);
            break;
        }
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) throw Usage(a + " needs a value");
            return argv[++i];
        };
        if (a == "--step-timeout-ms") opts.step_timeout_ms = to_int(a, value(), 1);
        else if (a == "--scenario-timeout-ms") opts.scenario_timeout_ms = to_int(a, value(), 1);
        else if (a == "--max-tasks") opts.max_tasks = to_int(a, value(), 2);
        else if (a == "--jobs") jobs = to_int(a, value(), 1);
        else if (a == "--out") out_path = value();
        else if (a == "--tmpdir") opts.tmpdir = value();
        else if (a == "--profile") opts.profile = true;
        else if (a == "--debug-stall") {
            auto v = value();
            auto colon = v.find(':');
            if (colon == std::string::npos) throw Usage("--debug-stall: expected STEP:MS");
            opts.stall_step = to_int(a, v.substr(0, colon), 0);
            opts.stall_ms = to_int(a, v.substr(colon + 1), 0);
        } else if (a == "--help" || a == "-h") {
            std::fputs(kUsage, stdout);
            return 0;
        } else if (a.size() > 1 && a[0] == '-') throw Usage("unknown option " + a);
        else files.push_back(a);
    }
    if (files.empty()) throw Usage("no scenario files");
    int out = STDOUT_FILENO;
    if (!out_path.empty()) {
        out = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (out < 0) throw std::runtime_error("cannot open " + out_path + ": " + std::strerror(errno));
    }
    run_files(opts, files, out, jobs);
    if (out != STDOUT_FILENO) close(out);
    return 0;
}

// ---- vm-init -------------------------------------------------------------------

void mount_fs(const char* source, const char* target, const char* type, unsigned long flags, const char* data) {
    mkdir(target, 0755);
    if (mount(source, target, type, flags, data) != 0 && errno != EBUSY)
        throw std::runtime_error(std::string("mount ") + type + " on " + target + ": " + std::strerror(errno));
}

// pidlab.step_timeout_ms=N, pidlab.scenario_timeout_ms=N, pidlab.max_tasks=N,
// pidlab.jobs=N, pidlab.profile=1
void read_cmdline(RunOptions& opts, int& jobs) {
    std::ifstream in("/proc/cmdline");
    std::string word;
    while (in >> word) {
        auto eq = word.find('=');
        if (eq == std::string::npos) continue;
        auto key = word.substr(0, eq), v = word.substr(eq + 1);
        if (key == "pidlab.step_timeout_ms") opts.step_timeout_ms = to_int(key, v, 1);
        else if (key == "pidlab.scenario_timeout_ms") opts.scenario_timeout_ms = to_int(key, v, 1);
        else if (key == "pidlab.max_tasks") opts.max_tasks = to_int(key, v, 2);
        else if (key == "pidlab.jobs") jobs = to_int(key, v, 1);
        else if (key == "pidlab.profile") opts.profile = v == "1";
    }
}

// Where the results go: the virtio console port named "pidlab" when the VM has
// one (oracle/vm/run-vm.sh adds it; whole buffers per write, where the 16550
// UART behind ttyS1 takes an emulated I/O access per byte), else ttyS1 (kernels
// without a built-in virtio_console driver, such as Debian's 6.1 cloud kernel).
// The port appears once the device's control queue has been set up, which may
// be just after /init starts: wait for it up to a second.
bool has_virtio_console() {
    if (access("/sys/bus/virtio/drivers/virtio_console", F_OK) != 0) return false;
    bool found = false;
    if (DIR* d = opendir("/sys/bus/virtio/devices")) {
        while (auto* e = readdir(d)) {
            if (e->d_name[0] == '.') continue;
            std::ifstream in(std::string("/sys/bus/virtio/devices/") + e->d_name + "/device");
            std::string id;
            if (std::getline(in, id) && id == "0x0003") found = true;  // VIRTIO_ID_CONSOLE
        }
        closedir(d);
    }
    return found;
}

int open_results() {
    const bool console = has_virtio_console();
    for (int tries = 0; console && tries < 100; ++tries) {
        if (DIR* d = opendir("/sys/class/virtio-ports")) {
            std::string found;
            while (auto* e = readdir(d)) {
                if (e->d_name[0] == '.') continue;
                std::ifstream in(std::string("/sys/class/virtio-ports/") + e->d_name + "/name");
                std::string name;
                if (std::getline(in, name) && name == "pidlab") found = e->d_name;
            }
            closedir(d);
            if (!found.empty()) {
                int fd = open(("/dev/" + found).c_str(), O_WRONLY | O_NOCTTY | O_CLOEXEC);
                if (fd >= 0) return fd;
            }
        }
        usleep(10000);
    }
    int fd = open("/dev/ttyS1", O_WRONLY | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) throw std::runtime_error(std::string("open /dev/ttyS1: ") + std::strerror(errno));
    termios tio{};
    if (tcgetattr(fd, &tio) == 0) {
        cfmakeraw(&tio);
        tcsetattr(fd, TCSANOW, &tio);
    }
    return fd;
}

[[noreturn]] void power_off(int out) {
    if (out >= 0) fsync(out);
    sync();
    reboot(RB_POWER_OFF);
    for (;;) pause();  // pid 1 must never return
}

// Options given as init's arguments (the words after `--` on the kernel command
// line): --step-timeout-ms=N or --step-timeout-ms N, and so on. Other words
// (the kernel passes on what it does not know) are ignored.
void read_init_args(RunOptions& opts, int& jobs, int argc, char** argv) {
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i], v;
        auto eq = a.find('=');
        if (eq != std::string::npos) v = a.substr(eq + 1), a = a.substr(0, eq);
        bool known = a == "--step-timeout-ms" || a == "--scenario-timeout-ms" || a == "--max-tasks" || a == "--jobs";
        if (!known) continue;
        if (eq == std::string::npos) {
            if (i + 1 >= argc) throw Usage(a + " needs a value");
            v = argv[++i];
        }
        if (a == "--step-timeout-ms") opts.step_timeout_ms = to_int(a, v, 1);
        else if (a == "--scenario-timeout-ms") opts.scenario_timeout_ms = to_int(a, v, 1);
        else if (a == "--jobs") jobs = to_int(a, v, 1);
        else opts.max_tasks = to_int(a, v, 2);
    }
}

[[noreturn]] void cmd_vm_init(int argc, char** argv) {
    int out = -1;
    try {
        // The kernel may have started us without fds 0-2: keep them taken.
        for (int fd = open("/dev/null", O_RDWR); fd >= 0 && fd < 3; fd = open("/dev/null", O_RDWR)) {
        }
        mount_fs("proc", "/proc", "proc", 0, nullptr);
        mount_fs("devtmpfs", "/dev", "devtmpfs", 0, nullptr);
        mount_fs("sysfs", "/sys", "sysfs", 0, nullptr);
        mount_fs("tmpfs", "/tmp", "tmpfs", 0, "mode=1777");  // no nosuid: the setuid helper lives here
        for (int fd = 0; fd < 3; ++fd)
            if (fcntl(fd, F_GETFD) < 0) open("/dev/console", O_RDWR);
        out = open_results();
        RunOptions opts;
        opts.tmpdir = "/tmp";
        // One job per vCPU unless told otherwise: under QEMU's multi-threaded
        // TCG each vCPU is a host thread.
        int jobs = static_cast<int>(std::max(1L, sysconf(_SC_NPROCESSORS_ONLN)));
        read_cmdline(opts, jobs);
        read_init_args(opts, jobs, argc, argv);
        std::vector<std::string> files;
        if (DIR* d = opendir("/pidlab/scenarios")) {
            while (auto* e = readdir(d)) {
                std::string n = e->d_name;
                if (n.size() > 5 && n.compare(n.size() - 5, 5, ".json") == 0) files.push_back("/pidlab/scenarios/" + n);
            }
            closedir(d);
        }
        std::sort(files.begin(), files.end());
        run_files(opts, files, out, jobs);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "pidlab-oracle vm-init: %s\n", e.what());
        int fd = out >= 0 ? out : open("/dev/ttyS1", O_WRONLY | O_NOCTTY);
        try {
            if (fd >= 0) write_line(fd, nlohmann::json{{"error", e.what()}}.dump());
        } catch (...) {
        }
        out = fd;
    } catch (...) {
        if (out >= 0) write(out, "{\"error\":\"unknown failure\"}\n", 28);
    }
    power_off(out);
}

}  // namespace

int main(int argc, char** argv) {
    std::string cmd = argc > 1 ? argv[1] : "";
    // A scenario task that exec'd the helper: back to the puppet loop. (The
    // scenario's init may exec too, as pid 1 of its namespace: check this first.)
    if (cmd == "puppet-exec") pidlab::oracle::puppet::resume_after_exec(argc, argv);
    // As the VM's /init the kernel may pass any arguments (or none): pid 1 is
    // always vm-init, and never returns.
    if (getpid() == 1) cmd = "vm-init";
    // The setuid copy serves puppets only.
    if (getuid() != geteuid()) {
        std::fputs("pidlab-oracle: refusing to run setuid except as a scenario's exec helper\n", stderr);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    try {
        if (cmd == "run") return cmd_run(argc, argv);
        if (cmd == "vm-init") cmd_vm_init(argc, argv);
        if (cmd == "--help" || cmd == "-h" || cmd == "help") {
            std::fputs(kUsage, stdout);
            return 0;
        }
        throw Usage(cmd.empty() ? "no command" : "unknown command \"" + cmd + "\"");
    } catch (const Usage& e) {
        std::fprintf(stderr, "pidlab-oracle: %s\n%s", e.what(), kUsage);
        return 2;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "pidlab-oracle: %s\n", e.what());
        return 1;
    }
}
