// bench_random: throughput of random testing (prop/), per core.
//
//   (m) the model, fast runner: random 20-step cases with every invariant checked after
//       every step (what `pidlab random` does) -> cases/s (target >= 100,000 per core)
//   (w) the same cases named and run through model::Replayer (a World): cases/s
//   (r) RapidCheck's state-machine generator (rc::state, prop/rc.hpp): cases/s
//   (h) difftest on the host kernel: a batch of race-free generated scenarios (what
//       `pidlab difftest --host` runs) through the oracle, --host-jobs scenarios at
//       once -> scenarios/s of wall time (target >= 100), median of --trials batches; also
//       the generation + model replay time per scenario (the rest of a difftest)
//   (v) difftest in one VM boot (--vm SERIES): N scenarios in one boot and 1 scenario in
//       another -> scenarios/s with the boot amortised, (N - 1) / (T_N - T_1) (target >= 50);
//       --vm-smp N vCPUs (default: one per host CPU, at most 4), one scenario per vCPU at a time
//
// "Per core": (m), (w), (r) run on one thread and are timed with its CPU clock as well
// as the wall clock (the machine may be shared). Each runs for at least --seconds,
// --trials times; the median trial is reported.
//
//   bench_random [--seconds S] [--trials N] [--kernel P] [--steps N] [--only m|w|r|h|v]
//                [--host-cases N] [--host-jobs N] [--vm SERIES] [--vm-cases N] [--vm-smp N] [--markdown]
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "checker/invariants.hpp"
#include "model/profile.hpp"
#include "prop/difftest.hpp"
#include "prop/rc.hpp"
#include "prop/search.hpp"

#ifndef PIDLAB_ORACLE_PATH
#define PIDLAB_ORACLE_PATH ""
#endif

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using namespace pidlab;

namespace {

double thread_cpu() {
    timespec t{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) * 1e-9;
}

double children_cpu() {
    rusage u{};
    getrusage(RUSAGE_CHILDREN, &u);
    return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
           static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) * 1e-6;
}

struct Row {
    std::string what, unit;
    double wall_rate = 0, cpu_rate = 0;  // per second of wall time, per second of CPU time (-1: not measured)
    std::string note;
};

struct Trial {
    double units = 0, wall = 0, cpu = 0;
};

// Runs `once` (returns the units it did) until `seconds` passed, `trials` times; the median trial.
Trial measure(double seconds, int trials, const std::function<double()>& once) {
    std::vector<Trial> ts;
    for (int t = 0; t < trials; ++t) {
        Trial tr;
        auto w0 = Clock::now();
        double c0 = thread_cpu();
        do {
            tr.units += once();
            tr.wall = std::chrono::duration<double>(Clock::now() - w0).count();
        } while (tr.wall < seconds);
        tr.cpu = thread_cpu() - c0;
        ts.push_back(tr);
    }
    std::sort(ts.begin(), ts.end(), [](const Trial& a, const Trial& b) { return a.units / a.cpu < b.units / b.cpu; });
    return ts[ts.size() / 2];
}

// A difftest batch: race-free scenarios, as prop::difftest generates them.
std::vector<std::string> write_batch(const std::string& dir, const model::Profile& p, uint64_t seed, size_t n,
                                     size_t steps) {
    auto cfg = prop::DifftestOptions::difftest_config();
    std::vector<std::string> files;
    for (size_t i = 0; i < n; ++i) {
        prop::World w(p, cfg.limits);
        prop::FastChooser ch(prop::case_seed(seed, i));
        w.run_random_race_free(cfg, ch, steps);
        char name[64];
        snprintf(name, sizeof name, "%s/bench-%05zu.json", dir.c_str(), i);
        std::ofstream(name) << scenario::to_json(w.scenario("bench_" + std::to_string(i))).dump() << "\n";
        files.push_back(name);
    }
    return files;
}

// $PIDLAB_ORACLE, else the build tree's pidlab-oracle.
std::string oracle_path() {
    const char* e = std::getenv("PIDLAB_ORACLE");
    return e && *e ? e : PIDLAB_ORACLE_PATH;
}

std::string make_tmp() {
    std::string t = (fs::temp_directory_path() / "pidlab-bench-random.XXXXXX").string();
    if (!mkdtemp(t.data())) throw std::runtime_error("mkdtemp");
    return t;
}

}  // namespace

int main(int argc, char** argv) {
    double seconds = 2;
    int trials = 3;
    std::string kernel = "7.1", only, vm;
    size_t steps = 20, host_cases = 500, vm_cases = 2000;  // 2000: the two boots' variance weighs little
    int host_jobs = 2, vm_smp = 0;  // 0: run-vm.sh's default, one vCPU per host CPU (at most 4)
    bool markdown = false;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        auto next = [&]() -> std::string {
            if (i + 1 >= argc) {
                fprintf(stderr, "bench_random: %s needs a value\n", a.c_str());
                exit(2);
            }
            return argv[++i];
        };
        if (a == "--seconds") seconds = std::atof(next().c_str());
        else if (a == "--trials") trials = std::max(1, std::atoi(next().c_str()));
        else if (a == "--kernel") kernel = next();
        else if (a == "--steps") steps = std::strtoul(next().c_str(), nullptr, 10);
        else if (a == "--only") only = next();
        else if (a == "--host-cases") host_cases = std::strtoul(next().c_str(), nullptr, 10);
        else if (a == "--host-jobs") host_jobs = std::max(1, std::atoi(next().c_str()));
        else if (a == "--vm") vm = next();
        else if (a == "--vm-smp") vm_smp = std::max(0, std::atoi(next().c_str()));
        else if (a == "--vm-cases") vm_cases = std::strtoul(next().c_str(), nullptr, 10);
        else if (a == "--markdown") markdown = true;
        else {
            fprintf(stderr,
                    "usage: bench_random [--seconds S] [--trials N] [--kernel P] [--steps N] [--only m|w|r|h|v]\n"
                    "                    [--host-cases N] [--host-jobs N] [--vm SERIES] [--vm-cases N] [--vm-smp N] [--markdown]\n");
            return 2;
        }
    }
    auto prof = model::find_profile(kernel);
    if (!prof) {
        fprintf(stderr, "bench_random: unknown kernel profile %s\n", kernel.c_str());
        return 2;
    }
    auto want = [&](char c) { return only.empty() ? (c != 'v' || !vm.empty()) : only.find(c) != std::string::npos; };
    std::vector<Row> rows;
    const prop::GenConfig cfg;
    const auto mask = checker::all_invariants();

    if (want('m')) {
        prop::FastRunner fr(*prof, cfg, mask);
        uint64_t i = 0, found = 0;
        auto t = measure(seconds, trials, [&] {
            for (int k = 0; k < 1000; ++k)
                if (fr.run_case(prop::case_seed(1, i++), steps) >= 0) ++found;
            return 1000.0;
        });
        rows.push_back({"model: random cases, " + std::to_string(steps) + " steps, all invariants (fast runner)", "cases",
                        t.units / t.wall, t.units / t.cpu,
                        std::to_string(found * 100 / std::max<uint64_t>(1, i)) + "% of cases violate one"});
    }
    if (want('w')) {
        uint64_t i = 0;
        auto t = measure(seconds, trials, [&] {
            for (int k = 0; k < 100; ++k) {
                prop::World w(*prof, cfg.limits);
                w.watch(mask);
                prop::FastChooser ch(prop::case_seed(1, i++));
                w.run_random(cfg, ch, steps, true);
            }
            return 100.0;
        });
        rows.push_back({"model: the same, named, through model::Replayer (World)", "cases", t.units / t.wall,
                        t.units / t.cpu, ""});
    }
    if (want('r')) {
        auto gen = prop::gen_commands(*prof, cfg, steps);
        uint64_t i = 0;
        auto t = measure(seconds, trials, [&] {
            for (int k = 0; k < 20; ++k) {
                auto cmds = gen(rc::Random(prop::case_seed(2, i++)), 100).value();
                (void)cmds;
            }
            return 20.0;
        });
        rows.push_back({"model: RapidCheck state-machine generation (rc::state), up to " + std::to_string(steps) +
                            " steps",
                        "cases", t.units / t.wall, t.units / t.cpu, "generation only; shrinking not measured"});
    }
    if (want('h')) {
        if (geteuid() != 0) {
            rows.push_back({"host difftest", "scenarios", 0, 0, "skipped: needs root"});
        } else {
            try {
                auto host = prop::host_runner(oracle_path(), 0, host_jobs);
                auto hp = model::find_profile(host->version());
                // generation + naming + replay in the model, per scenario (one thread)
                std::string dir = make_tmp();
                auto g0 = Clock::now();
                auto files = write_batch(dir, *hp, 7, host_cases, 12);
                double gen = std::chrono::duration<double>(Clock::now() - g0).count();
                struct HostTrial {
                    double wall, cpu;
                    size_t n;
                };
                std::vector<HostTrial> ts;
                for (int t = 0; t < trials; ++t) {
                    double c0 = children_cpu();
                    auto w0 = Clock::now();
                    auto res = host->run(files);
                    ts.push_back({std::chrono::duration<double>(Clock::now() - w0).count(), children_cpu() - c0,
                                  res.size()});
                }
                fs::remove_all(dir);
                std::sort(ts.begin(), ts.end(), [](const HostTrial& a, const HostTrial& b) { return a.wall < b.wall; });
                const auto& m = ts[ts.size() / 2];
                std::string all;
                for (const auto& t : ts) all += (all.empty() ? "" : ", ") + std::to_string(t.wall).substr(0, 5);
                rows.push_back({"host " + host->release() + ": difftest batch, 12 steps, race-free, oracle --jobs " +
                                    std::to_string(host_jobs),
                                "scenarios", static_cast<double>(m.n) / m.wall,
                                m.cpu > 0 ? static_cast<double>(m.n) / m.cpu : 0,
                                std::to_string(m.n) + " scenarios; median of " + std::to_string(ts.size()) +
                                    " batches (" + all + " s); cpu = the oracle's CPU time, its jobs included"});
                rows.push_back({"host: generating the batch (race-free) in the model", "scenarios",
                                static_cast<double>(files.size()) / gen, -1, "one thread, wall time"});
            } catch (const std::exception& e) {
                rows.push_back({"host difftest", "scenarios", 0, 0, std::string("failed: ") + e.what()});
            }
        }
    }
    if (want('v') && !vm.empty()) {
        try {
            auto runner = prop::vm_runner(vm, oracle_path(), 0, vm_smp);
            auto vp = model::find_profile(vm);
            std::string dir = make_tmp();
            auto files = write_batch(dir, *vp, 8, vm_cases, 12);
            auto w0 = Clock::now();
            auto one = runner->run({files.front()});
            double t1 = std::chrono::duration<double>(Clock::now() - w0).count();
            w0 = Clock::now();
            auto res = runner->run(files);
            double tn = std::chrono::duration<double>(Clock::now() - w0).count();
            fs::remove_all(dir);
            double amortised = tn > t1 ? static_cast<double>(res.size() - 1) / (tn - t1) : 0;
            const int smp = vm_smp > 0 ? vm_smp : static_cast<int>(std::clamp(std::thread::hardware_concurrency(), 1u, 4u));
            rows.push_back({"VM " + runner->release() + " (QEMU TCG, -smp " + std::to_string(smp) +
                                "): difftest batch, 12 steps, race-free, one boot",
                            "scenarios",
                            static_cast<double>(res.size()) / tn, -1,
                            std::to_string(res.size()) + " scenarios in " + std::to_string(tn).substr(0, 6) +
                                " s, boot included"});
            rows.push_back({"VM " + runner->release() + ": the same with the boot amortised, (N-1)/(T_N-T_1)",
                            "scenarios", amortised, -1,
                            "a 1-scenario boot took " + std::to_string(t1).substr(0, 5) + " s"});
        } catch (const std::exception& e) {
            rows.push_back({"VM difftest", "scenarios", 0, 0, std::string("failed: ") + e.what()});
        }
    }

    if (markdown) {
        printf("| measurement | per wall second | per CPU second | note |\n|---|---:|---:|---|\n");
        for (const auto& r : rows) {
            std::string cpu = r.cpu_rate < 0 ? "-" : std::to_string(static_cast<long>(r.cpu_rate)) + " " + r.unit + "/s";
            printf("| %s | %.0f %s/s | %s | %s |\n", r.what.c_str(), r.wall_rate, r.unit.c_str(), cpu.c_str(),
                   r.note.c_str());
        }
    } else {
        for (const auto& r : rows) {
            std::string cpu = r.cpu_rate < 0 ? "-" : std::to_string(static_cast<long>(r.cpu_rate)) + " " + r.unit + "/s (cpu)";
            printf("%-78s %10.0f %s/s (wall) %22s  %s\n", r.what.c_str(), r.wall_rate, r.unit.c_str(), cpu.c_str(),
                   r.note.c_str());
        }
    }
    return 0;
}
