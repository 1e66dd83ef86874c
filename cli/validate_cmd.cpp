// pidlab validate: for each revision of the series, the corpus, exhaustive
// exploration and random search, as a table (invariants × revisions); then what
// the merged kernel (Debian's 7.1, 7.2, 7.3 under QEMU) answers to every
// counterexample, compared with the revision's model and with the 7.x model.
#include <CLI/CLI.hpp>
#include <fmt/core.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>

#include "cli/commands.hpp"
#include "cli/crosscheck.hpp"
#include "checker/ops.hpp"
#include "cli/validate.hpp"
#include "model/replay.hpp"
#include "oracle/client.hpp"
#include "oracle/vm/vm_runner.hpp"

#ifndef PIDLAB_SOURCE_DIR
#define PIDLAB_SOURCE_DIR "."
#endif

namespace pidlab::cli {

namespace {

namespace fs = std::filesystem;

struct ValidateArgs {
    std::string revisions = "all";
    int tasks = 0, depth = 0;
    std::string ops = "default";
    std::string explore;  // "default@4x6;ptrace@3x5"
    uint64_t cases = 0;
    bool cases_set = false;
    uint64_t seed = 1;
    size_t steps = 24;
    std::string corpus;
    bool no_corpus = false;
    std::string out = "validate-out";
    std::string vm = "7.1,7.2,7.3";
    bool no_vm = false;
    int threads = 2;
    bool quiet = false;
    bool no_svg = false;
};

std::string show(const scenario::Observation& o) {
    std::string s = scenario::describe_observation(o);
    return s.empty() ? "(nothing)" : s;
}

std::string kernel_cache_dir() {
    const char* c = std::getenv("PIDLAB_CACHE");
    if (c && *c) return std::string(c) + "/kernels";
    const char* h = std::getenv("HOME");
    return std::string(h ? h : "/root") + "/.cache/pidlab/kernels";
}

// One counterexample on one real kernel.
struct KernelAnswer {
    std::string series, release, build;
    bool ran = false;
    std::string verdict;        // first difference with the revision's model, or "agrees ..."
    bool hazard_real = false;   // the kernel did what the revision's model did
    bool model_agrees = true;   // the 7.x model (profile of this kernel) agrees with the kernel
    std::string model_diff;     // where it does not
};
struct Detail {
    std::string revision, invariant, file;
    size_t length = 0;
    std::vector<KernelAnswer> answers;
};

std::string first_difference(const scenario::Scenario& s, const model::ReplayResult& m, const scenario::RunResult& k,
                             const std::string& rev, const std::string& kname) {
    for (size_t j = 0, n = steps_to_compare(m, k); j < n; ++j) {
        auto [mo, ko] = step_observations(m, k, j);
        if (diff_observations(mo, ko).empty()) continue;
        std::string step = j < s.steps.size() ? scenario::describe_step(s.steps[j]) : "?";
        return fmt::format("step #{} `{}`: {} gives {}, {} gives {}", j, step, rev, show(mo), kname, show(ko));
    }
    if (!m.error && !k.aborted)
        for (const auto& [name, mo] : m.final) {
            auto it = k.final.find(name);
            if (it == k.final.end()) continue;
            if (!diff_observations(mo, it->second).empty())
                return fmt::format("final state of {}: {} gives {}, {} gives {}", name, rev, show(mo), kname,
                                   show(it->second));
        }
    return "";
}

bool parse_explore(const std::string& spec, std::vector<validate::ExploreSpec>& out, std::string& err) {
    out.clear();
    std::stringstream ss(spec);
    std::string item;
    while (std::getline(ss, item, ';')) {
        if (item.empty()) continue;
        auto at = item.rfind('@');
        auto x = item.find('x', at == std::string::npos ? 0 : at);
        validate::ExploreSpec e;
        try {
            if (at == std::string::npos || x == std::string::npos) throw std::invalid_argument("form");
            e.ops = item.substr(0, at);
            size_t p1 = 0, p2 = 0;
            e.tasks = std::stoi(item.substr(at + 1, x - at - 1), &p1);
            e.depth = std::stoi(item.substr(x + 1), &p2);
            if (p1 != x - at - 1 || p2 != item.size() - x - 1) throw std::invalid_argument("form");
        } catch (const std::exception&) {
            err = "\"" + item + "\" is not OPS@TASKSxDEPTH (e.g. default@4x6)";
            return false;
        }
        out.push_back(e);
    }
    if (out.empty()) {
        err = "no configuration given";
        return false;
    }
    return true;
}

int run_validate(const ValidateArgs& a) {
    auto t0 = std::chrono::steady_clock::now();
    validate::Options o = validate::default_options();
    std::string err;
    auto bad = [](const std::string& m) {
        std::cerr << "pidlab validate: " << m << "\n";
        return 2;
    };
    if (!validate::parse_revisions(a.revisions, o.revisions, err)) return bad("--revisions: " + err);
    if ((a.tasks > 0) != (a.depth > 0) && a.explore.empty()) {
        // one of them: keep the other from the first default configuration
    }
    if (!a.explore.empty()) {
        if (!parse_explore(a.explore, o.explore, err)) return bad("--explore: " + err);
    } else if (a.tasks > 0 || a.depth > 0 || a.ops != "default") {
        validate::ExploreSpec e;
        e.ops = a.ops;
        e.tasks = a.tasks > 0 ? a.tasks : 4;
        e.depth = a.depth > 0 ? a.depth : 6;
        o.explore = {e};
    }
    if (a.tasks < 0 || a.tasks > 60) return bad("--tasks must be between 1 and 60");
    if (a.depth < 0 || a.depth > 64) return bad("--depth must be between 1 and 64");
    for (const auto& e : o.explore) {
        checker::Alphabet al;
        if (!checker::parse_alphabet(e.ops, al, err)) return bad("--ops \"" + e.ops + "\": " + err);
        if (e.tasks < 1 || e.tasks > 60 || e.depth < 1 || e.depth > 64)
            return bad("bounds " + e.label() + ": tasks must be 1..60 and depth 1..64");
    }
    if (a.cases_set) o.random_cases = a.cases;
    if (a.steps < 1 || a.steps > 1000) return bad("--steps must be between 1 and 1000");
    if (a.threads < 1 || a.threads > 256) return bad("--threads must be between 1 and 256");
    o.random_steps = a.steps;
    o.seed = a.seed;
    o.threads = a.threads;
    if (!a.no_corpus) {
        o.corpus = a.corpus;
        if (o.corpus.empty()) o.corpus = fs::is_directory("scenarios") ? "scenarios" : PIDLAB_SOURCE_DIR "/scenarios";
        if (!fs::is_directory(o.corpus)) return bad("--corpus: no directory " + o.corpus);
    }
    std::vector<std::string> series;
    if (!a.no_vm) {
        std::stringstream ss(a.vm);
        std::string v;
        auto known = oracle::vm::known_series();
        while (std::getline(ss, v, ',')) {
            if (v.empty()) continue;
            if (v == "all") {
                series = known;
                continue;
            }
            if (std::find(known.begin(), known.end(), v) == known.end())
                return bad("--vm: unknown kernel series \"" + v + "\" (known: 6.1 6.12 7.1 7.2 7.3, all)");
            if (std::find(series.begin(), series.end(), v) == series.end()) series.push_back(v);
        }
    }
    if (a.out.empty()) return bad("--out must name a directory");
    std::error_code ec;
    fs::create_directories(a.out, ec);
    if (ec || !fs::is_directory(a.out)) return bad("--out: cannot create " + a.out + ": " + ec.message());
    if (!a.quiet) o.progress = [](const std::string& s) { std::cerr << s << std::endl; };

    std::cerr << fmt::format("validate: revisions {}; explore {}; random search {} cases of {} steps (seed {}); "
                             "corpus {}; output in {}/\n",
                             fmt::format("{}", [&] {
                                 std::string s;
                                 for (const auto& r : o.revisions) s += (s.empty() ? "" : " ") + r;
                                 return s;
                             }()),
                             [&] {
                                 std::string s;
                                 for (const auto& e : o.explore) s += (s.empty() ? "" : ", ") + e.label();
                                 return s;
                             }(),
                             o.random_cases, o.random_steps, o.seed, o.corpus.empty() ? "none" : o.corpus, a.out);
    validate::Result r;
    try {
        r = validate::run(o);
    } catch (const scenario::FormatError& e) {
        return bad(std::string("corpus: ") + e.what());
    } catch (const std::exception& e) {
        return bad(e.what());
    }
    size_t not_replaying = 0;
    try {
        not_replaying = validate::write_outputs(r, a.out, !a.no_svg);
    } catch (const std::exception& e) {
        return bad(std::string("--out: ") + e.what());
    }
    const double model_seconds = r.seconds;

    // ---- section 3: every counterexample on the merged kernels ------------------------------
    std::vector<Detail> details;
    std::vector<std::string> files;
    std::vector<scenario::Scenario> scen;
    for (const auto& rr : r.revisions)
        for (size_t i = 0; i < rr.cells.size(); ++i) {
            const auto& c = rr.cells[i];
            if (!c.violated) continue;
            Detail d;
            d.revision = rr.revision;
            d.invariant = checker::invariants()[i].name;
            d.file = c.json_file;
            d.length = c.length;
            details.push_back(d);
            files.push_back(c.json_file);
            scen.push_back(c.scenario);
        }
    std::vector<std::string> kernel_notes;  // per series: what booted, or why not
    bool inconsistent = not_replaying > 0, vm_failed = false;
    std::string oracle_bin;
    if (!series.empty() && !files.empty()) {
        try {
            oracle_bin = oracle::find_oracle_binary();
        } catch (const std::exception& e) {
            kernel_notes.push_back(std::string("no oracle binary: ") + e.what());
            series.clear();
        }
    }
    for (const auto& s : series) {
        if (files.empty()) break;
        std::string manifest = kernel_cache_dir() + "/" + s + "/manifest";
        if (!fs::exists(manifest)) {
            std::string note = fmt::format("{}: not in the kernel cache ({}); fetch it with "
                                           "`oracle/vm/fetch-kernels.sh {}` and run again",
                                           s, kernel_cache_dir(), s);
            std::cerr << "validate: " << note << "\n";
            kernel_notes.push_back(note);
            continue;
        }
        auto tb = std::chrono::steady_clock::now();
        std::cerr << fmt::format("validate: booting Debian's {} kernel under QEMU with the {} counterexamples "
                                 "(one boot; 10-60 s under TCG)\n",
                                 s, files.size());
        oracle::vm::VmOptions vo;
        vo.offline = true;
        auto run = oracle::vm::run_in_vm(s, oracle_bin, files, vo);
        if (!run.completed) {
            std::string note = fmt::format("{}: the VM run failed: {}", s, run.error);
            std::cerr << "validate: " << note << "\n";
            kernel_notes.push_back(note);
            vm_failed = true;
            continue;
        }
        std::vector<scenario::RunResult> results;
        try {
            results = oracle::parse_vm_lines(run.lines, files, s).results;
        } catch (const std::exception& e) {
            kernel_notes.push_back(fmt::format("{}: unreadable results: {}", s, e.what()));
            vm_failed = true;
            continue;
        }
        auto model_report = crosscheck_results(scen, results, run.release, run.package + " " + run.version);
        kernel_notes.push_back(fmt::format("{}: {} ({} {}), model profile {}, booted and ran {} counterexamples in "
                                           "{:.0f} s",
                                           s, run.release, run.package, run.version, model_report.profile,
                                           files.size(), std::chrono::duration<double>(
                                                             std::chrono::steady_clock::now() - tb).count()));
        std::cerr << "validate: " << kernel_notes.back() << "\n";
        for (size_t i = 0; i < details.size(); ++i) {
            KernelAnswer ka;
            ka.series = s;
            ka.release = run.release;
            ka.build = run.package + " " + run.version;
            const auto& k = results[i];
            const auto& md = model_report.scenarios[i];
            if (k.aborted) {
                ka.ran = false;
                ka.verdict = "the oracle could not run it: " + *k.aborted;
            } else {
                ka.ran = true;
                auto prof = model::find_profile(details[i].revision);
                auto m = model::replay(scen[i], *prof);
                std::string diff = first_difference(scen[i], m, k, details[i].revision, run.release);
                // The kernel's own model (it agrees with the kernel on this scenario when md.agree) judges
                // whether the violation happens on this kernel: a transition invariant is not always
                // observable through the calls' answers.
                auto kprof = model::find_profile(run.release);
                auto chk = kprof ? checker::check_counterexample(scen[i], *kprof) : checker::CounterexampleCheck{};
                bool there = !chk.error && chk.first_violation_step >= 0;
                ka.hazard_real = there;
                if (diff.empty()) {
                    ka.verdict = there ? "agrees with " + details[i].revision + ": the hazard is real on this kernel"
                                       : "the same answers as " + details[i].revision + ", but the " + kprof->name +
                                             " model (which agrees with the kernel) shows no violation: the "
                                             "difference is not observable through these calls";
                } else {
                    ka.verdict = diff + (there ? "; the violation still happens on this kernel" : "; no violation");
                }
            }
            if (!md.agree) {
                ka.model_agrees = false;
                inconsistent = true;
                if (!md.model_error.empty()) ka.model_diff = "model: " + md.model_error;
                else if (!md.kernel_error.empty()) ka.model_diff = "kernel: " + md.kernel_error;
                else if (!md.steps.empty())
                    ka.model_diff = fmt::format("step #{}: model {}, kernel {}", md.steps[0].index,
                                                show(md.steps[0].model), show(md.steps[0].kernel));
                else if (!md.finals.empty())
                    ka.model_diff = fmt::format("final {}: model {}, kernel {}", md.finals[0].index_name,
                                                show(md.finals[0].model), show(md.finals[0].kernel));
                else ka.model_diff = "differs";
            }
            details[i].answers.push_back(ka);
        }
    }
    if (a.no_vm) kernel_notes.push_back("not run (--no-vm)");

    // ---- the table, the detail view --------------------------------------------------------
    std::string table = validate::text_table(r, o);
    std::cout << table;
    std::cout << fmt::format("\nB = {}: no violation in any state the explorations reached (d default alphabet, p ptrace; "
                             "tasks/depth), in any of the {} random cases of {} steps (r, seed {}), nor in the corpus (c)\n",
                             validate::bounds_text(o), o.random_cases, o.random_steps, o.seed);
    std::cout << "counterexamples: " << a.out << "/REVISION/INVARIANT.json (+ INVARIANT/step-NN.dot)";
    if (not_replaying) std::cout << fmt::format("; {} DO NOT REPLAY", not_replaying);
    std::cout << "\n";
    if (!details.empty()) {
        std::cout << "\nwhat the merged kernel answers to each counterexample:\n";
        for (const auto& d : details) {
            std::cout << fmt::format("  {} {} ({} steps)\n", d.revision, d.invariant, d.length);
            if (d.answers.empty()) std::cout << "      (no kernel run)\n";
            for (const auto& ka : d.answers) {
                std::cout << fmt::format("      {}: {}\n", ka.release, ka.verdict);
                if (!ka.model_agrees)
                    std::cout << fmt::format("      {}: MODEL DISAGREES WITH THE KERNEL: {}\n", ka.release, ka.model_diff);
            }
        }
    }
    for (const auto& n : kernel_notes) std::cout << "kernel " << n << "\n";
    for (const auto& rr : r.revisions)
        for (size_t i = 0; i < rr.cells.size(); ++i)
            if (rr.cells[i].violated && !rr.cells[i].replays)
                std::cout << fmt::format("REPLAY CHECK FAILED: {}: {}\n", rr.cells[i].json_file,
                                         rr.cells[i].replay_problem);

    // ---- table.md ----------------------------------------------------------------------------
    double total = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::ostringstream md;
    md << "# pidlab validate\n\n";
    md << validate::markdown_table(r, o) << "\n";
    md << "Cells: `holds (BOUNDS)` — no violation within every configuration listed; `violated (N steps)` — the "
          "shortest counterexample found has N steps (breadth-first exploration gives the shortest within its "
          "bounds; `random search` or `corpus` when only those found it).\n\n";
    md << "## Bounds\n\n| tag | what |\n|---|---|\n";
    for (const auto& e : o.explore)
        md << fmt::format("| `{}` | exhaustive breadth-first exploration, `{}` alphabet, {} tasks (T included), depth {} "
                          "|\n",
                          validate::bounds_text({.explore = {e}}), e.ops, e.tasks, e.depth);
    if (o.random_cases)
        md << fmt::format("| `r{}` | random search: {} cases of {} steps, seed {}, 2 threads, shrunk |\n",
                          validate::bounds_text({.random_cases = o.random_cases}).substr(1), o.random_cases,
                          o.random_steps, o.seed);
    if (!o.corpus.empty()) md << "| `c` | every scenario of the corpus (`" << o.corpus << "`), invariants watched |\n";
    md << "\n## Runs\n\n| revision | configuration | states | transitions | seconds | violated |\n|---|---|---|---|---|---|\n";
    for (const auto& rr : r.revisions) {
        for (const auto& e : rr.explores) {
            std::string v;
            for (const auto& x : e.violated) v += (v.empty() ? "" : ", ") + x;
            md << fmt::format("| {} | explore {}{} | {} | {} | {:.1f} | {} |\n", rr.revision, e.spec.label(),
                              e.complete ? "" : " (incomplete)", e.states, e.transitions, e.seconds, v);
        }
        if (o.random_cases) {
            std::string v;
            for (const auto& x : rr.random.found) v += (v.empty() ? "" : ", ") + x;
            md << fmt::format("| {} | random search | {} cases | {} steps | {:.1f} | {} |\n", rr.revision,
                              rr.random.cases, rr.random.steps, rr.random.seconds, v);
        }
        if (!o.corpus.empty())
            md << fmt::format("| {} | corpus | {} scenarios: {} run, {} meet their expectations, {} do not run | | "
                              "{:.1f} | {} scenario(s) violate an invariant |\n",
                              rr.revision, rr.corpus.files, rr.corpus.runs, rr.corpus.meets, rr.corpus.does_not_run,
                              rr.corpus.seconds, rr.corpus.violations);
    }
    md << "\n## Counterexamples and what the merged kernel answers\n\n";
    md << "For each counterexample and each kernel: the first step where the real kernel's answer differs from the "
          "revision's model, or *agrees* when the kernel does what the revision's model does (the hazard is real on "
          "that kernel). The 7.x model must agree with the real 7.x kernel on every counterexample.\n\n";
    for (const auto& n : kernel_notes) md << "- kernel " << n << "\n";
    md << "\n";
    for (size_t di = 0; di < details.size(); ++di) {
        const auto& d = details[di];
        const validate::Cell* cell = nullptr;
        for (const auto& rr : r.revisions)
            if (rr.revision == d.revision) cell = &rr.cells[size_t(*checker::invariant_index(d.invariant))];
        md << fmt::format("### {} `{}` ({} steps)\n\n", d.revision, d.invariant, d.length);
        if (cell) {
            md << "Found by " << cell->how << ": " << cell->detail << ". File: `" << d.revision << "/" << d.invariant
               << ".json`" << (cell->replays ? " (replays to the violation)" : " (**DOES NOT REPLAY**: " + cell->replay_problem + ")")
               << "\n\n```\n";
            for (size_t i = 0; i < cell->scenario.steps.size(); ++i)
                md << fmt::format("#{} {}\n", i, scenario::describe_step(cell->scenario.steps[i]));
            md << "```\n\n";
        }
        if (d.answers.empty()) md << "No kernel run.\n\n";
        for (const auto& ka : d.answers) {
            md << "- **" << ka.release << "**: " << ka.verdict;
            md << (ka.model_agrees ? "; the " + ka.series + " model agrees with the kernel"
                                   : "; **the " + ka.series + " model disagrees with the kernel**: " + ka.model_diff)
               << "\n";
        }
        md << "\n";
    }
    md << fmt::format("## Timing\n\nModel phases {:.0f} s, whole run {:.0f} s (wall).\n", model_seconds, total);
    {
        std::ofstream f(a.out + "/table.md");
        f << md.str();
        if (!f) return bad("cannot write " + a.out + "/table.md");
    }
    std::cout << fmt::format("\nwrote {}/table.md; model {:.0f} s, total {:.0f} s\n", a.out, model_seconds, total);
    if (inconsistent) {
        std::cerr << "pidlab validate: INCONSISTENT: "
                  << (not_replaying ? std::to_string(not_replaying) + " counterexample(s) do not replay; " : "")
                  << "see the detail view\n";
        return 1;
    }
    return vm_failed ? 1 : 0;
}

}  // namespace

Runner add_validate(CLI::App& app) {
    auto a = std::make_shared<ValidateArgs>();
    auto* sub = app.add_subcommand(
        "validate", "Validate the revisions of the series: corpus, exploration and random search per revision, a "
                    "table of invariants x revisions, and the merged kernels' answers to every counterexample");
    sub->add_option("--revisions", a->revisions, "Revisions (profiles), comma-separated, or all: rfc-v1,v2,v3,v4,v5,7.1")
        ->capture_default_str();
    sub->add_option("--tasks", a->tasks, "Explore only the --ops alphabet with these bounds: tasks (T included)");
    sub->add_option("--depth", a->depth, "... and this depth");
    sub->add_option("--ops", a->ops, "The alphabet for --tasks/--depth (default: default)");
    sub->add_option("--explore", a->explore,
                    "Exploration configurations, OPS@TASKSxDEPTH;... (default: default@4x6;default@3x8;ptrace@3x5)");
    sub->add_option("--cases", a->cases, "Random-search cases per revision (default 200000; 0: none)")
        ->each([a](const std::string&) { a->cases_set = true; });
    sub->add_option("--seed", a->seed, "Random-search seed")->capture_default_str();
    sub->add_option("--steps", a->steps, "Steps per random case")->capture_default_str();
    sub->add_option("--corpus", a->corpus, "Scenario directory (default: ./scenarios, else the source tree's)");
    sub->add_flag("--no-corpus", a->no_corpus, "Skip the corpus");
    sub->add_option("--out", a->out, "Output directory: table.md and the counterexamples")->capture_default_str();
    sub->add_option("--vm", a->vm, "Kernel series to run the counterexamples on (comma-separated; all)")
        ->capture_default_str();
    sub->add_flag("--no-vm", a->no_vm, "Do not run the counterexamples on real kernels");
    sub->add_option("--threads", a->threads, "Exploration threads")->capture_default_str();
    sub->add_flag("--no-svg", a->no_svg, "Do not render SVG pictures");
    sub->add_flag("-q,--quiet", a->quiet, "No progress lines");
    return [a] { return run_validate(*a); };
}

}  // namespace pidlab::cli
