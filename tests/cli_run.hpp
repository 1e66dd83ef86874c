// Runs a command-line program for a test: stdin from /dev/null, stdout and stderr
// captured through files, killed with SIGKILL when it outlives its time limit.
// Shared by the CLI tests (tests/format/cli_bad_input_test.cpp,
// tests/checker/test_replay_cli.cpp).
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace pidlab::test {

struct CliRun {
    int status = -1;  // exit status; -1 when it did not exit normally
    int signal = 0;   // the signal that killed it
    bool timed_out = false;
    std::string out, err;
};

inline std::string slurp_file(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

// Writes `text` to dir/name (creating the directories); returns the path.
inline std::string write_file(const std::filesystem::path& dir, const std::string& name, const std::string& text) {
    const auto p = dir / name;
    std::filesystem::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << text;
    return p.string();
}

// `exe args...`, its output kept in `dir` (out.N, err.N). Throws std::runtime_error when
// it cannot be started.
inline CliRun run_cli(const std::string& exe, const std::vector<std::string>& args,
                      const std::filesystem::path& dir, std::chrono::seconds limit) {
    static int counter = 0;
    const auto out = dir / ("out." + std::to_string(counter));
    const auto err = dir / ("err." + std::to_string(counter++));
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&fa, 2, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    std::vector<std::string> argv_s = {exe};
    argv_s.insert(argv_s.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : argv_s) argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_t pid;
    int rc = posix_spawn(&pid, exe.c_str(), &fa, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) throw std::runtime_error("posix_spawn " + exe + ": " + std::strerror(rc));
    CliRun r;
    int ws = 0;
    const auto deadline = std::chrono::steady_clock::now() + limit;
    for (;;) {
        if (waitpid(pid, &ws, WNOHANG) == pid) break;
        if (std::chrono::steady_clock::now() > deadline) {
            kill(pid, SIGKILL);
            waitpid(pid, &ws, 0);
            r.timed_out = true;
            break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    if (WIFEXITED(ws)) r.status = WEXITSTATUS(ws);
    if (WIFSIGNALED(ws)) r.signal = WTERMSIG(ws);
    r.out = slurp_file(out);
    r.err = slurp_file(err);
    return r;
}

}  // namespace pidlab::test
