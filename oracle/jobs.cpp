#include "oracle/jobs.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <optional>
#include <stdexcept>
#include <type_traits>

#include <nlohmann/json.hpp>

namespace pidlab::oracle {

namespace {

// All of buf, or false (end of file, an error).
bool read_all(int fd, void* buf, size_t n) {
    auto* p = static_cast<char*>(buf);
    while (n > 0) {
        ssize_t r = read(fd, p, n);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return false;
        p += r;
        n -= static_cast<size_t>(r);
    }
    return true;
}

bool write_all(int fd, const void* buf, size_t n) {
    const auto* p = static_cast<const char*>(buf);
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return false;
        p += w;
        n -= static_cast<size_t>(w);
    }
    return true;
}

}  // namespace

void write_line(int fd, const std::string& line) {
    const std::string s = line + "\n";
    if (!write_all(fd, s.data(), s.size()))
        throw std::runtime_error(std::string("cannot write the results: ") + std::strerror(errno));
}

namespace {

using Clock = std::chrono::steady_clock;

void write_done(int out, const std::string& kernel, size_t n) {
    write_line(out, nlohmann::json{{"done", true}, {"kernel", kernel}, {"scenarios", n}}.dump());
}

// Writes a result line and counts it in the profile's output phase.
void output(int out, const std::string& line) {
    PhaseTimer t(Profile::Output);
    write_line(out, line);
}

// ---- one process -----------------------------------------------------------------

void run_here(const RunOptions& opts, const std::vector<std::string>& files, int out) {
    const auto start = Clock::now();
    Executor ex(opts);
    for (const auto& f : files) output(out, scenario::to_json(ex.run_file(f)).dump());
    write_done(out, ex.kernel(), files.size());
    if (opts.profile) {
        const double wall = std::chrono::duration<double>(Clock::now() - start).count();
        std::fprintf(stderr, "%s; 1 job: %.2f s wall, %.1f scenarios/s\n", Profile::snapshot().summary().c_str(), wall,
                     wall > 0 ? static_cast<double>(files.size()) / wall : 0.0);
    }
}

// ---- parallel jobs ---------------------------------------------------------------
//
// Parent -> job: a file index (uint32), or kQuit. Job -> parent: messages of a
// Header and `len` bytes: a result line for `index`, the job's Profile (after
// kQuit, with opts.profile), or why its Executor could not start.

constexpr uint32_t kQuit = 0xffffffffu;
static_assert(std::is_trivially_copyable_v<Profile>, "a job sends its Profile as bytes");
enum Kind : uint32_t { kResult = 1, kProfile = 2, kError = 3 };
struct Header {
    uint32_t kind = 0;
    uint32_t index = 0;
    uint64_t len = 0;
};

bool send(int fd, Kind kind, uint32_t index, const void* data, size_t len) {
    Header h{kind, index, len};
    return write_all(fd, &h, sizeof h) && write_all(fd, data, len);
}

// A job's life: its own Executor, one file at a time until kQuit. Never returns.
[[noreturn]] void job_main(const RunOptions& opts, const std::vector<std::string>& files, int from_parent,
                           int to_parent) {
    int status = 0;
    try {
        Executor ex(opts);
        for (;;) {
            uint32_t index = 0;
            if (!read_all(from_parent, &index, sizeof index)) break;  // the parent is gone
            if (index == kQuit) {
                if (opts.profile) {
                    Profile p = Profile::snapshot();
                    send(to_parent, kProfile, 0, &p, sizeof p);
                }
                break;
            }
            if (index >= files.size()) throw std::runtime_error("job: file index out of range");
            auto line = scenario::to_json(ex.run_file(files[index])).dump();
            if (!send(to_parent, kResult, index, line.data(), line.size())) break;
        }
    } catch (const std::exception& e) {
        std::string what = e.what();
        send(to_parent, kError, 0, what.data(), what.size());
        status = 1;
    }
    _exit(status);  // the Executor is gone: its helper directory with it
}

struct Job {
    pid_t pid = -1;
    int to = -1, from = -1;  // the parent's ends
    long current = -1;       // the file it runs
    bool quit_sent = false;
};

// The parent's stop signals go to the jobs (their Executors clean up), then
// the parent stops the same way. A job still there after 2 s gets SIGKILL (its
// scenario dies with it: the init's PR_SET_PDEATHSIG). Async-signal-safe calls only.
constexpr int kMaxJobs = 256;
volatile pid_t g_jobs[kMaxJobs];
extern "C" void forward_stop_signal(int sig) {
    for (auto& p : g_jobs)
        if (p > 0) kill(p, sig);
    for (int tick = 0;; ++tick) {
        bool left = false;
        for (auto& p : g_jobs) {
            if (p <= 0) continue;
            int st;
            pid_t r = waitpid(p, &st, WNOHANG);
            if (r == p || (r < 0 && errno == ECHILD)) p = 0;
            else left = true;
        }
        if (!left) break;
        if (tick == 200)
            for (auto& p : g_jobs)
                if (p > 0) kill(p, SIGKILL);
        timespec ten_ms{0, 10 * 1000 * 1000};
        nanosleep(&ten_ms, nullptr);
    }
    signal(sig, SIG_DFL);
    raise(sig);
}

std::string describe_exit(int status) {
    if (WIFSIGNALED(status)) return "was killed by signal " + std::to_string(WTERMSIG(status));
    if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
    return "stopped";
}

class Pool {
public:
    Pool(const RunOptions& opts, const std::vector<std::string>& files, int out, int jobs)
        : opts_(opts), files_(files), out_(out), lines_(files.size()) {
        for (int sig : {SIGTERM, SIGINT, SIGHUP}) signal(sig, forward_stop_signal);
        for (int k = 0; k < jobs; ++k) start();
    }
    ~Pool() {
        stop_all();
        for (int sig : {SIGTERM, SIGINT, SIGHUP}) signal(sig, SIG_DFL);
    }

    void run() {
        for (auto& j : jobs_) give(j);
        for (;;) {
            std::vector<pollfd> fds;
            std::vector<Job*> which;
            for (auto& j : jobs_)
                if (j.pid > 0) {
                    fds.push_back({j.from, POLLIN, 0});
                    which.push_back(&j);
                }
            if (fds.empty()) break;
            if (poll(fds.data(), fds.size(), -1) < 0) {
                if (errno == EINTR) continue;
                throw std::runtime_error(std::string("poll: ") + std::strerror(errno));
            }
            for (size_t i = 0; i < fds.size(); ++i)
                if (fds[i].revents) receive(*which[i]);
        }
        if (flushed_ != files_.size()) throw std::runtime_error("jobs ended with results missing");
        write_done(out_, kernel_release(), files_.size());
        if (opts_.profile) {
            total_.ms[Profile::Output] += profile().ms[Profile::Output];
            total_.n[Profile::Output] += profile().n[Profile::Output];
            const double wall = std::chrono::duration<double>(Clock::now() - start_).count();
            std::fprintf(stderr, "%s; %zu jobs: %.2f s wall, %.1f scenarios/s\n", total_.summary().c_str(), jobs_.size(),
                         wall, wall > 0 ? static_cast<double>(files_.size()) / wall : 0.0);
        }
    }

private:
    void start() {
        int down[2], up[2];
        if (pipe2(down, O_CLOEXEC) != 0) throw std::runtime_error(std::string("pipe: ") + std::strerror(errno));
        if (pipe2(up, O_CLOEXEC) != 0) {
            close(down[0]);
            close(down[1]);
            throw std::runtime_error(std::string("pipe: ") + std::strerror(errno));
        }
        const pid_t parent = getpid();
        std::fflush(nullptr);
        pid_t pid = fork();
        if (pid < 0) {
            for (int fd : {down[0], down[1], up[0], up[1]}) close(fd);
            throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
        }
        if (pid == 0) {
            // Dies with the parent, even by SIGKILL (then the next executor
            // removes the helper directory it leaves).
            prctl(PR_SET_PDEATHSIG, SIGKILL);
            if (getppid() != parent) _exit(1);
            for (int sig : {SIGTERM, SIGINT, SIGHUP}) signal(sig, SIG_DFL);
            for (auto& j : jobs_) {
                close(j.to);
                close(j.from);
            }
            close(down[1]);
            close(up[0]);
            if (out_ > STDERR_FILENO) close(out_);
            job_main(opts_, files_, down[0], up[1]);
        }
        close(down[0]);
        close(up[1]);
        Job j;
        j.pid = pid;
        j.to = down[1];
        j.from = up[0];
        jobs_.push_back(j);
        for (auto& p : g_jobs)
            if (p <= 0) {
                p = pid;
                break;
            }
    }

    void give(Job& j) {
        uint32_t index = kQuit;
        if (next_ < files_.size()) {
            j.current = static_cast<long>(next_);
            index = static_cast<uint32_t>(next_++);
        } else {
            j.current = -1;
            j.quit_sent = true;
        }
        if (!write_all(j.to, &index, sizeof index)) fail(j, "stopped taking work");
    }

    void receive(Job& j) {
        Header h;
        if (!read_all(j.from, &h, sizeof h)) {
            // The job ended. After kQuit that is its normal end.
            int status = reap(j);
            if (j.quit_sent && WIFEXITED(status) && WEXITSTATUS(status) == 0) return;
            fail_status(status, j.current);
        }
        std::string data(h.len, '\0');
        if (h.len > (1u << 30) || !read_all(j.from, data.data(), data.size())) fail(j, "sent a truncated message");
        switch (h.kind) {
            case kResult:
                if (static_cast<long>(h.index) != j.current) fail(j, "answered for a file it was not given");
                lines_[h.index] = std::move(data);
                while (flushed_ < lines_.size() && lines_[flushed_]) {
                    output(out_, *lines_[flushed_]);
                    lines_[flushed_].reset();
                    ++flushed_;
                }
                give(j);
                break;
            case kProfile:
                if (data.size() == sizeof(Profile)) {
                    Profile p;
                    std::memcpy(static_cast<void*>(&p), data.data(), sizeof p);
                    total_ += p;
                }
                break;
            case kError:
                reap(j);
                throw std::runtime_error(data);
            default:
                fail(j, "sent a message of unknown kind");
        }
    }

    int reap(Job& j) {
        int status = 0;
        close(j.to);
        close(j.from);
        while (waitpid(j.pid, &status, 0) < 0 && errno == EINTR) {
        }
        for (auto& p : g_jobs)
            if (p == j.pid) p = 0;
        j.pid = -1;
        return status;
    }

    [[noreturn]] void fail(Job& j, const std::string& what) {
        long current = j.current;
        kill(j.pid, SIGKILL);
        reap(j);
        throw std::runtime_error("a job " + what + (current >= 0 ? " while running " + files_[current] : ""));
    }
    [[noreturn]] void fail_status(int status, long current) {
        throw std::runtime_error("a job " + describe_exit(status) +
                                 (current >= 0 ? " while running " + files_[current] : ""));
    }

    // The remaining jobs are told to stop (SIGTERM: their Executors kill the
    // scenario and remove their helpers) and reaped.
    void stop_all() {
        for (auto& j : jobs_)
            if (j.pid > 0) kill(j.pid, SIGTERM);
        for (auto& j : jobs_)
            if (j.pid > 0) reap(j);
    }

    const RunOptions& opts_;
    const std::vector<std::string>& files_;
    int out_;
    std::vector<Job> jobs_;
    std::vector<std::optional<std::string>> lines_;
    size_t next_ = 0, flushed_ = 0;
    Profile total_;
    Clock::time_point start_ = Clock::now();
};

}  // namespace

void run_files(const RunOptions& opts, const std::vector<std::string>& files, int out, int jobs) {
    jobs = std::min<long>(jobs, std::min<long>(static_cast<long>(files.size()), kMaxJobs));
    if (jobs <= 1) {
        run_here(opts, files, out);
        return;
    }
    Pool pool(opts, files, out, jobs);
    pool.run();
}

}  // namespace pidlab::oracle
