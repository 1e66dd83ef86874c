#include "oracle/vm/vm_runner.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef PIDLAB_VM_SCRIPTS_DIR
#define PIDLAB_VM_SCRIPTS_DIR ""
#endif

namespace pidlab::oracle::vm {
namespace {

bool is_readable(const std::string& path) { return ::access(path.c_str(), R_OK) == 0; }

bool read_file(const std::string& path, std::string& out) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return false;
    std::ostringstream ss;
    ss << in.rdbuf();
    out = ss.str();
    return true;
}

std::string self_dir() {
    char buf[4096];
    ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
    if (n <= 0) return {};
    std::string p(buf, static_cast<size_t>(n));
    auto slash = p.rfind('/');
    return slash == std::string::npos ? std::string{} : p.substr(0, slash);
}

std::string make_absolute(const std::string& path) {
    if (path.empty() || path[0] == '/') return path;
    char buf[4096];
    if (::getcwd(buf, sizeof buf) == nullptr) return path;
    return std::string(buf) + "/" + path;
}

void remove_tree(const std::string& dir) {
    // The work directory holds only plain files written here or by run-vm.sh.
    pid_t pid = ::fork();
    if (pid == 0) {
        ::execlp("rm", "rm", "-rf", "--", dir.c_str(), static_cast<char*>(nullptr));
        ::_exit(127);
    }
    if (pid > 0) {
        int st = 0;
        while (::waitpid(pid, &st, 0) < 0 && errno == EINTR) {
        }
    }
}

// The value of "key" in the header line written by run-vm.sh: a JSON string
// (unescaped), or a bare number / true / false.
std::string header_field(const std::string& header, const std::string& key) {
    const std::string needle = "\"" + key + "\":";
    auto pos = header.find(needle);
    if (pos == std::string::npos) return {};
    pos += needle.size();
    while (pos < header.size() && header[pos] == ' ') ++pos;
    if (pos >= header.size()) return {};
    std::string out;
    if (header[pos] == '"') {
        for (++pos; pos < header.size() && header[pos] != '"'; ++pos) {
            char c = header[pos];
            if (c == '\\' && pos + 1 < header.size()) {
                char e = header[++pos];
                switch (e) {
                    case 'n': out += '\n'; break;
                    case 't': out += '\t'; break;
                    case 'r': out += '\r'; break;
                    default: out += e; break;
                }
            } else {
                out += c;
            }
        }
        return out;
    }
    while (pos < header.size() && header[pos] != ',' && header[pos] != '}' && header[pos] != ' ')
        out += header[pos++];
    return out;
}

std::string tail(const std::string& s, size_t n) { return s.size() <= n ? s : "..." + s.substr(s.size() - n); }

}  // namespace

std::vector<std::string> known_series() { return {"6.1", "6.12", "7.1", "7.2", "7.3"}; }

std::string find_scripts_dir(const VmOptions& options) {
    std::vector<std::string> candidates;
    if (!options.scripts_dir.empty()) return options.scripts_dir;
    if (const char* env = std::getenv("PIDLAB_VM_SCRIPTS"); env != nullptr && *env != '\0')
        candidates.emplace_back(env);
    candidates.emplace_back(PIDLAB_VM_SCRIPTS_DIR);
    if (auto d = self_dir(); !d.empty()) {
        candidates.push_back(d);
        candidates.push_back(d + "/vm");
    }
    for (const auto& c : candidates)
        if (!c.empty() && is_readable(c + "/run-vm.sh")) return c;
    return {};
}

namespace {

// One boot of run-vm.sh over the scenario list; fills `run` from its results file.
void boot_once(const std::string& scripts, const std::string& series, const std::string& init_binary,
               const std::string& work, const VmOptions& options, VmRun& run) {
    const std::string list = work + "/scenarios.list", out = work + "/results.jsonl",
                      console = work + "/console.log", log = work + "/run-vm.log";
    // Run through bash, so that a checkout that lost the scripts' mode bits still works.
    std::vector<std::string> args = {
        "bash", scripts + "/run-vm.sh", "--kernel", series, "--init", make_absolute(init_binary),
        "--scenario-list", list, "--out", out, "--console", console,
        "--timeout", std::to_string(options.timeout_seconds > 0 ? options.timeout_seconds : 300),
        "--mem", std::to_string(options.memory_mb > 0 ? options.memory_mb : 1024)};
    if (options.smp > 0) args.insert(args.end(), {"--smp", std::to_string(options.smp)});
    if (!options.cache_dir.empty()) args.insert(args.end(), {"--cache", make_absolute(options.cache_dir)});
    if (options.fetch) args.emplace_back("--fetch");
    if (options.offline) args.emplace_back("--offline");
    if (!options.extra_append.empty()) args.insert(args.end(), {"--append", options.extra_append});
    if (options.init_args.empty()) args.emplace_back("--no-init-args");
    for (const auto& w : options.init_args) args.insert(args.end(), {"--init-arg", w});

    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);

    pid_t pid = ::fork();
    if (pid < 0) {
        run.error = std::string("fork: ") + std::strerror(errno);
        return;
    }
    if (pid == 0) {
        int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        int in = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (fd >= 0) {
            ::dup2(fd, 1);
            ::dup2(fd, 2);
        }
        if (in >= 0) ::dup2(in, 0);
        ::execvp(argv[0], argv.data());
        ::_exit(127);
    }
    int st = 0;
    while (::waitpid(pid, &st, 0) < 0) {
        if (errno != EINTR) {
            st = -1;
            break;
        }
    }
    run.exit_status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);

    std::string script_log;
    read_file(log, script_log);
    read_file(console, run.console_log);

    std::string results;
    if (read_file(out, results)) {
        std::istringstream in(results);
        std::string line;
        bool first = true;
        while (std::getline(in, line)) {
            if (!line.empty() && line.back() == '\r') line.pop_back();
            if (first) {
                first = false;
                run.header = line;
                continue;
            }
            if (!line.empty()) run.lines.push_back(line);
        }
        run.suite = header_field(run.header, "suite");
        run.package = header_field(run.header, "package");
        run.version = header_field(run.header, "version");
        run.release = header_field(run.header, "release");
        run.status = header_field(run.header, "status");
        run.error = header_field(run.header, "error");
        run.completed = header_field(run.header, "completed") == "true" && run.exit_status == 0;
        try {
            run.seconds = std::stod(header_field(run.header, "seconds"));
        } catch (...) {
            run.seconds = 0;
        }
    }
    if (!run.completed && run.error.empty())
        run.error = "run-vm.sh exited with status " + std::to_string(run.exit_status) +
                    (script_log.empty() ? std::string{} : ": " + tail(script_log, 2000));

}

// The guest kernel crashed (a panic or an oops), or the VM wrote no result at
// all: both happen now and then under TCG for reasons of the emulation (a
// cross-CPU code patch seen half done under multi-threaded TCG, the IO-APIC
// timer check on a loaded host), and are worth another boot.
bool crashed(const VmRun& run) {
    if (run.completed || run.status == "setup-error" || run.status == "timeout") return false;
    return run.lines.empty() || run.console_log.find("Kernel panic") != std::string::npos ||
           run.console_log.find("Oops") != std::string::npos;
}

// The console's first crash line ("Oops: ...", "Kernel panic - ..."), for the log.
std::string crash_line(const std::string& console) {
    for (const char* key : {"Oops", "BUG:", "Kernel panic"}) {
        auto at = console.find(key);
        if (at == std::string::npos) continue;
        auto end = console.find('\n', at);
        std::string line = console.substr(at, end == std::string::npos ? std::string::npos : end - at);
        while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
        return line.substr(0, 200);
    }
    return "no result and no crash message on the console";
}

}  // namespace

VmRun run_in_vm(const std::string& series, const std::string& init_binary,
                const std::vector<std::string>& scenario_files, const VmOptions& options) {
    VmRun run;
    run.series = series;
    run.status = "setup-error";

    bool known = false;
    for (const auto& s : known_series()) known = known || s == series;
    if (!known) {
        run.error = "unknown kernel series '" + series + "'";
        return run;
    }
    const std::string scripts = find_scripts_dir(options);
    if (scripts.empty()) {
        run.error = "run-vm.sh not found (set VmOptions::scripts_dir or PIDLAB_VM_SCRIPTS)";
        return run;
    }

    std::string tmpl = std::string(std::getenv("TMPDIR") ? std::getenv("TMPDIR") : "/tmp") + "/pidlab-vmrun.XXXXXX";
    std::vector<char> buf(tmpl.begin(), tmpl.end());
    buf.push_back('\0');
    if (::mkdtemp(buf.data()) == nullptr) {
        run.error = std::string("mkdtemp: ") + std::strerror(errno);
        return run;
    }
    const std::string work(buf.data());
    const std::string list = work + "/scenarios.list";

    {
        std::ofstream l(list);
        for (const auto& f : scenario_files) {
            if (f.find('\n') != std::string::npos) {
                run.error = "scenario file name contains a newline: " + f;
                remove_tree(work);
                return run;
            }
            l << make_absolute(f) << '\n';
        }
        if (!l) {
            run.error = "cannot write " + list;
            remove_tree(work);
            return run;
        }
    }

    const int attempts = std::max(1, options.boot_attempts);
    for (int attempt = 1;; ++attempt) {
        VmRun r = run;
        VmOptions o = options;
        o.fetch = options.fetch && attempt == 1;
        boot_once(scripts, series, init_binary, work, o, r);
        r.boots = attempt;
        r.crashed_boots = run.crashed_boots;
        if (attempt < attempts && crashed(r)) {
            auto why = crash_line(r.console_log);
            r.crashed_boots.push_back(why);
            std::fprintf(stderr, "pidlab vm: the %s guest crashed (%s); booting it again (%d of %d)\n",
                         series.c_str(), why.c_str(), attempt + 1, attempts);
            run.crashed_boots = r.crashed_boots;
            continue;
        }
        run = std::move(r);
        break;
    }

    if (options.keep_work_dir)
        run.work_dir = work;
    else
        remove_tree(work);
    return run;
}

}  // namespace pidlab::oracle::vm
