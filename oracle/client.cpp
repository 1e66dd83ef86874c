#include "oracle/client.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <sstream>
#include <stdexcept>

#include <nlohmann/json.hpp>

namespace pidlab::oracle {
namespace fs = std::filesystem;

std::string host_kernel_release() {
    utsname u{};
    if (uname(&u) != 0) throw std::runtime_error(std::string("uname: ") + std::strerror(errno));
    return u.release;
}

std::string find_oracle_binary(const std::string& explicit_path) {
    std::vector<std::string> tried;
    auto usable = [&](const std::string& p) {
        tried.push_back(p);
        return access(p.c_str(), X_OK) == 0;
    };
    if (!explicit_path.empty()) {
        if (usable(explicit_path)) return explicit_path;
    } else if (const char* env = std::getenv("PIDLAB_ORACLE"); env && *env) {
        if (usable(env)) return env;
    } else {
        std::error_code ec;
        auto self = fs::read_symlink("/proc/self/exe", ec);
        if (!ec) {
            auto dir = self.parent_path();
            for (auto p : {dir / "pidlab-oracle", dir / ".." / "oracle" / "pidlab-oracle"})
                if (usable(p.lexically_normal().string())) return p.lexically_normal().string();
        }
    }
    std::string list;
    for (const auto& t : tried) list += (list.empty() ? "" : ", ") + t;
    throw std::runtime_error("pidlab-oracle not found (tried: " + (list.empty() ? std::string("nothing") : list) +
                             "); set PIDLAB_ORACLE or pass its path");
}

OracleOutput parse_oracle_output(std::istream& in, const std::vector<std::string>& files, const ParseOptions& opts) {
    OracleOutput out;
    std::vector<scenario::RunResult> printed;
    bool done = false;
    long done_count = -1;
    size_t lineno = 0;
    for (std::string line; std::getline(in, line);) {
        ++lineno;
        while (!line.empty() && (line.back() == '\r' || line.back() == '\n' || line.back() == ' ')) line.pop_back();
        if (line.empty()) continue;
        auto where = opts.source + " line " + std::to_string(lineno);
        if (line[0] != '{') {
            if (opts.skip_noise) continue;
            throw std::runtime_error(where + ": not a JSON line: " + line.substr(0, 200));
        }
        nlohmann::json j;
        try {
            j = nlohmann::json::parse(line);
        } catch (const nlohmann::json::exception& e) {
            if (opts.skip_noise) continue;
            throw std::runtime_error(where + ": malformed JSON: " + e.what());
        }
        if (!j.is_object()) throw std::runtime_error(where + ": expected a JSON object");
        if (j.contains("error"))
            throw std::runtime_error(opts.source + ": the oracle failed: " +
                                     (j["error"].is_string() ? j["error"].get<std::string>() : j["error"].dump()));
        if (done) throw std::runtime_error(where + ": output after the done line");
        if (j.contains("done")) {
            done = true;
            if (j.contains("kernel") && j["kernel"].is_string()) out.kernel = j["kernel"].get<std::string>();
            if (j.contains("scenarios") && j["scenarios"].is_number_integer()) done_count = j["scenarios"].get<long>();
            continue;
        }
        try {
            printed.push_back(scenario::run_result_from_json(j, opts.source));
        } catch (const scenario::FormatError& e) {
            throw std::runtime_error(where + ": not a run result: " + e.what());
        }
    }
    if (!done) throw std::runtime_error(opts.source + ": ended without its done line (the oracle died or was cut off)");
    if (done_count >= 0 && static_cast<size_t>(done_count) != printed.size())
        throw std::runtime_error(opts.source + ": the done line counts " + std::to_string(done_count) +
                                 " scenarios but " + std::to_string(printed.size()) + " results came");
    if (files.empty()) {
        out.results = std::move(printed);
        return out;
    }
    // File order. A VM runs its own copies, /pidlab/scenarios/NNNN-NAME.json
    // numbered from 1 in the order given (oracle/vm/run-vm.sh), or NAME.json:
    // match the path, then the number and name, then a unique name.
    auto numbered = [](const std::string& printed_file) -> std::pair<long, std::string> {
        auto base = fs::path(printed_file).filename().string();
        size_t digits = 0;
        while (digits < base.size() && base[digits] >= '0' && base[digits] <= '9') ++digits;
        if (digits == 0 || digits >= base.size() || base[digits] != '-') return {-1, base};
        return {std::stol(base.substr(0, digits)), base.substr(digits + 1)};
    };
    std::vector<bool> used(printed.size(), false);
    for (size_t fi = 0; fi < files.size(); ++fi) {
        const auto& f = files[fi];
        auto name = fs::path(f).filename().string();
        int hit = -1;
        for (size_t i = 0; i < printed.size() && hit < 0; ++i)
            if (!used[i] && printed[i].file == f) hit = static_cast<int>(i);
        for (size_t i = 0; i < printed.size() && hit < 0; ++i) {
            auto [n, rest] = numbered(printed[i].file);
            if (!used[i] && n == static_cast<long>(fi + 1) && rest == name) hit = static_cast<int>(i);
        }
        if (hit < 0) {
            for (size_t i = 0; i < printed.size(); ++i) {
                if (used[i] || (fs::path(printed[i].file).filename() != name && numbered(printed[i].file).second != name))
                    continue;
                if (hit >= 0) throw std::runtime_error(opts.source + ": two results match " + f);
                hit = static_cast<int>(i);
            }
        }
        if (hit < 0) throw std::runtime_error(opts.source + ": no result for " + f);
        used[hit] = true;
        out.results.push_back(std::move(printed[hit]));
    }
    return out;
}

std::vector<scenario::RunResult> run_on_host(const std::vector<std::string>& files, const HostOptions& opts) {
    if (files.empty()) return {};
    auto binary = find_oracle_binary(opts.oracle_path);
    std::vector<std::string> args = {binary, "run"};
    auto opt = [&](const char* name, int v) {
        if (v > 0) args.insert(args.end(), {name, std::to_string(v)});
    };
    opt("--step-timeout-ms", opts.step_timeout_ms);
    opt("--scenario-timeout-ms", opts.scenario_timeout_ms);
    opt("--max-tasks", opts.max_tasks);
    opt("--jobs", opts.jobs);
    args.insert(args.end(), opts.extra_args.begin(), opts.extra_args.end());
    args.emplace_back("--");
    args.insert(args.end(), files.begin(), files.end());

    int pipefd[2];
    if (pipe2(pipefd, O_CLOEXEC) != 0) throw std::runtime_error(std::string("pipe: ") + std::strerror(errno));
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_t pid = fork();
    if (pid < 0) {
        close(pipefd[0]);
        close(pipefd[1]);
        throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
    }
    if (pid == 0) {
        dup2(pipefd[1], STDOUT_FILENO);
        execv(argv[0], argv.data());
        _exit(127);
    }
    close(pipefd[1]);
    std::string text;
    char buf[65536];
    for (;;) {
        ssize_t n = read(pipefd[0], buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        text.append(buf, static_cast<size_t>(n));
    }
    close(pipefd[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    std::string how;
    if (WIFSIGNALED(status)) how = "was killed by signal " + std::to_string(WTERMSIG(status));
    else if (WIFEXITED(status) && WEXITSTATUS(status) == 127) how = "could not be started";
    else if (WIFEXITED(status) && WEXITSTATUS(status) != 0) how = "exited with status " + std::to_string(WEXITSTATUS(status));
    if (!how.empty()) throw std::runtime_error(binary + " " + how + " (its messages are on stderr)");
    std::istringstream in(text);
    ParseOptions po;
    po.source = binary;
    return parse_oracle_output(in, files, po).results;
}

OracleOutput parse_vm_lines(const std::vector<std::string>& lines, const std::vector<std::string>& files,
                            const std::string& series) {
    std::string joined;
    for (const auto& l : lines) joined += l + "\n";
    std::istringstream in(joined);
    ParseOptions po;
    po.skip_noise = true;
    po.source = "the " + series + " VM";
    return parse_oracle_output(in, files, po);
}

}  // namespace pidlab::oracle
