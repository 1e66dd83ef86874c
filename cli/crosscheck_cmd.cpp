// pidlab crosscheck: run scenarios on a real kernel (the host, or Debian's
// kernels under QEMU) and in the model with the profile matching that kernel,
// and show every step where they differ.
#include <CLI/CLI.hpp>
#include <fmt/core.h>

#include <fstream>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli/commands.hpp"
#include "cli/crosscheck.hpp"
#include "model/replay.hpp"
#include "oracle/client.hpp"
#include "oracle/vm/vm_runner.hpp"

namespace pidlab::cli {

namespace {

struct CrossArgs {
    bool host = false;
    std::vector<std::string> vms;
    bool json = false;
    bool quiet = false;
    std::string markdown;  // write a Markdown report here
    int step_timeout_ms = 0;
    std::string model_kernel;  // override the model's profile
    std::vector<std::string> paths;
};

std::string show(const scenario::Observation& o) {
    std::string s = scenario::describe_observation(o);
    return s.empty() ? "(nothing)" : s;
}

}  // namespace

size_t steps_to_compare(const model::ReplayResult& m, const scenario::RunResult& k) {
    return std::max(m.steps.size(), k.steps.size());
}

std::pair<scenario::Observation, scenario::Observation> step_observations(const model::ReplayResult& m,
                                                                          const scenario::RunResult& k, size_t j) {
    scenario::Observation mo = j < m.steps.size() ? m.steps[j].obs : scenario::Observation{};
    scenario::Observation ko = j < k.steps.size() ? k.steps[j] : scenario::Observation{};
    if (j >= m.steps.size()) mo.error = "not run by the model";
    if (j >= k.steps.size()) ko.error = "not run on the kernel";
    return {std::move(mo), std::move(ko)};
}

std::vector<scenario::Mismatch> diff_observations(const scenario::Observation& model, const scenario::Observation& kernel) {
    // Both directions: every key either side reports must agree (errors agree whatever their text).
    scenario::Observation a = model, b = kernel;
    a.rule.clear(), b.rule.clear();
    if (a.error && b.error) return {};
    std::vector<scenario::Mismatch> out = scenario::compare(a, b);
    for (auto& m : scenario::compare(b, a)) {
        bool dup = std::any_of(out.begin(), out.end(), [&](const auto& x) { return x.key == m.key; });
        if (!dup) out.push_back({m.key, m.observed, m.expected});
    }
    return out;
}

CrossReport crosscheck_results(const std::vector<scenario::Scenario>& scenarios,
                               const std::vector<scenario::RunResult>& kernel_results, const std::string& release,
                               const std::string& build, const std::string& model_kernel) {
    CrossReport rep;
    rep.release = release;
    rep.build = build;
    auto profile = model::find_profile(model_kernel.empty() ? release : model_kernel);
    if (!profile) throw std::runtime_error("no model profile matches kernel release " + release);
    rep.profile = profile->describe();
    for (size_t i = 0; i < scenarios.size(); ++i) {
        const auto& s = scenarios[i];
        const auto& k = kernel_results.at(i);
        ScenarioDiff d;
        d.file = s.file;
        d.name = s.name;
        auto m = model::replay(s, *profile);
        if (m.error) {
            d.model_error = m.error->what();
        }
        if (k.aborted) d.kernel_error = *k.aborted;
        for (size_t j = 0, n = steps_to_compare(m, k); j < n; ++j) {
            auto [mo, ko] = step_observations(m, k, j);
            auto diffs = diff_observations(mo, ko);
            if (!diffs.empty()) d.steps.push_back({j, mo, ko, diffs});
            // the scenario's own expectations, on the kernel it was written for
            if (model::profile_matches(*profile, s.kernel) && j < s.steps.size() && s.steps[j].expect && j < k.steps.size()) {
                auto e = scenario::compare(*s.steps[j].expect, k.steps[j]);
                if (!e.empty()) d.expectation_failures.push_back({"steps[" + std::to_string(j) + "]", e});
            }
        }
        if (!m.error && !k.aborted) {
            for (const auto& [name, mo] : m.final) {
                auto it = k.final.find(name);
                scenario::Observation ko = it == k.final.end() ? scenario::Observation{} : it->second;
                if (it == k.final.end()) ko.error = "not observed on the kernel";
                auto diffs = diff_observations(mo, ko);
                if (!diffs.empty()) d.finals.push_back({name, mo, ko, diffs});
            }
            if (model::profile_matches(*profile, s.kernel))
                for (const auto& [name, exp] : s.final) {
                    auto it = k.final.find(name);
                    if (it == k.final.end()) continue;
                    auto e = scenario::compare(exp, it->second);
                    if (!e.empty()) d.expectation_failures.push_back({"final." + name, e});
                }
        }
        d.agree = d.steps.empty() && d.finals.empty() && d.expectation_failures.empty() &&
                  (d.model_error.empty() == d.kernel_error.empty());
        rep.scenarios.push_back(std::move(d));
    }
    return rep;
}

void print_report(const CrossReport& rep, const std::vector<scenario::Scenario>& scenarios, bool quiet) {
    fmt::print("== kernel {}{} — model profile {}\n", rep.release, rep.build.empty() ? "" : " (" + rep.build + ")",
               rep.profile);
    for (size_t i = 0; i < rep.scenarios.size(); ++i) {
        const auto& d = rep.scenarios[i];
        if (d.agree) {
            if (!quiet) fmt::print("  agree     {}\n", d.file);
            continue;
        }
        fmt::print("  DISAGREE  {}\n", d.file);
        if (!d.model_error.empty()) fmt::print("      model: {}\n", d.model_error);
        if (!d.kernel_error.empty()) fmt::print("      kernel: {}\n", d.kernel_error);
        for (const auto& sd : d.steps) {
            std::string step = sd.index < scenarios[i].steps.size() ? scenario::describe_step(scenarios[i].steps[sd.index]) : "?";
            fmt::print("    #{} {}\n", sd.index, step);
            fmt::print("        model : {}{}\n", show(sd.model), sd.model.rule.empty() ? "" : "   [" + sd.model.rule + "]");
            fmt::print("        kernel: {}\n", show(sd.kernel));
        }
        for (const auto& fd : d.finals) {
            fmt::print("    final {}\n", fd.index_name);
            fmt::print("        model : {}{}\n", show(fd.model), fd.model.rule.empty() ? "" : "   [" + fd.model.rule + "]");
            fmt::print("        kernel: {}\n", show(fd.kernel));
        }
        for (const auto& [path, ms] : d.expectation_failures)
            for (const auto& m : ms)
                fmt::print("    expectation {} {}: expected {}, the kernel gave {}\n", path, m.key, m.expected, m.observed);
    }
}

std::string markdown_report(const std::vector<CrossReport>& reps) {
    std::ostringstream os;
    os << "# pidlab crosscheck\n\n| kernel | build | model profile | agree | disagree |\n|---|---|---|---|---|\n";
    for (const auto& r : reps)
        os << "| " << r.release << " | " << r.build << " | " << r.profile << " | " << r.agree_count() << " | "
           << r.scenarios.size() - r.agree_count() << " |\n";
    for (const auto& r : reps)
        for (const auto& d : r.scenarios) {
            if (d.agree) continue;
            os << "\n## " << d.name << " on " << r.release << "\n\n| step | model | kernel |\n|---|---|---|\n";
            for (const auto& sd : d.steps)
                os << "| " << sd.index << " | " << show(sd.model) << " | " << show(sd.kernel) << " |\n";
            for (const auto& fd : d.finals)
                os << "| final " << fd.index_name << " | " << show(fd.model) << " | " << show(fd.kernel) << " |\n";
        }
    return os.str();
}

size_t CrossReport::agree_count() const {
    return std::count_if(scenarios.begin(), scenarios.end(), [](const auto& d) { return d.agree; });
}

namespace {

int run(const CrossArgs& a) {
    if (!a.model_kernel.empty() && !model::find_profile(a.model_kernel)) {
        std::cerr << "pidlab crosscheck: unknown kernel profile \"" << a.model_kernel << "\"\n";
        return 2;
    }
    if (!a.host && a.vms.empty()) {
        std::cerr << "pidlab crosscheck: choose --host and/or --vm VERSION (or --vm all)\n";
        return 2;
    }
    std::vector<std::string> files;
    std::vector<scenario::Scenario> scenarios;
    try {
        files = scenario::collect_scenario_files(a.paths);
        for (const auto& f : files) scenarios.push_back(scenario::load_scenario_file(f));
    } catch (const scenario::FormatError& e) {
        std::cerr << "pidlab crosscheck: " << e.what() << "\n";
        return 2;
    }
    if (files.empty()) {
        std::cerr << "pidlab crosscheck: no scenario files found in the paths given\n";
        return 2;
    }
    std::vector<std::string> series;
    for (const auto& v : a.vms) {
        if (v == "all") {
            for (const auto& s : oracle::vm::known_series()) series.push_back(s);
            continue;
        }
        auto known = oracle::vm::known_series();
        if (std::find(known.begin(), known.end(), v) == known.end()) {
            std::cerr << "pidlab crosscheck: unknown VM kernel series \"" << v << "\" (known: ";
            for (const auto& k : known) std::cerr << k << " ";
            std::cerr << "all)\n";
            return 2;
        }
        series.push_back(v);
    }
    std::vector<CrossReport> reports;
    bool failed_run = false;
    try {
        if (a.host) {
            oracle::HostOptions ho;
            ho.step_timeout_ms = a.step_timeout_ms;
            std::cerr << "crosscheck: running " << files.size() << " scenarios on the host kernel\n";
            auto res = oracle::run_on_host(files, ho);
            reports.push_back(crosscheck_results(scenarios, res, oracle::host_kernel_release(), "host", a.model_kernel));
            if (!a.json) print_report(reports.back(), scenarios, a.quiet);
        }
        if (!series.empty()) {
            std::string init = oracle::find_oracle_binary();
            for (const auto& s : series) {
                std::cerr << "crosscheck: booting Debian's " << s << " kernel under QEMU with " << files.size()
                          << " scenarios\n";
                oracle::vm::VmOptions vo;
                if (a.step_timeout_ms) vo.init_args.push_back("--step-timeout-ms=" + std::to_string(a.step_timeout_ms));
                auto run = oracle::vm::run_in_vm(s, init, files, vo);
                if (!run.completed) {
                    std::cerr << "pidlab crosscheck: the " << s << " VM run failed: " << run.error << "\n";
                    if (!run.console_log.empty()) {
                        auto tail = run.console_log.size() > 2000 ? run.console_log.substr(run.console_log.size() - 2000)
                                                                  : run.console_log;
                        std::cerr << "--- console (tail) ---\n" << tail << "\n----\n";
                    }
                    failed_run = true;
                    continue;
                }
                auto out = oracle::parse_vm_lines(run.lines, files, s);
                reports.push_back(crosscheck_results(scenarios, out.results, run.release, run.package + " " + run.version, a.model_kernel));
                if (!a.json) print_report(reports.back(), scenarios, a.quiet);
            }
        }
    } catch (const std::exception& e) {
        std::cerr << "pidlab crosscheck: " << e.what() << "\n";
        return 2;
    }
    size_t agree = 0, disagree = 0;
    for (const auto& r : reports) agree += r.agree_count(), disagree += r.scenarios.size() - r.agree_count();
    if (a.json) {
        nlohmann::ordered_json j = nlohmann::ordered_json::array();
        for (const auto& r : reports) {
            nlohmann::ordered_json rj;
            rj["kernel"] = r.release;
            rj["build"] = r.build;
            rj["profile"] = r.profile;
            rj["agree"] = r.agree_count();
            rj["disagree"] = r.scenarios.size() - r.agree_count();
            rj["disagreements"] = nlohmann::ordered_json::array();
            for (const auto& d : r.scenarios)
                if (!d.agree) rj["disagreements"].push_back(d.file);
            j.push_back(rj);
        }
        std::cout << j.dump(2) << "\n";
    }
    if (!a.markdown.empty()) {
        std::ofstream md(a.markdown);
        md << markdown_report(reports);
    }
    (a.json ? std::cerr : std::cout) << agree << " agree, " << disagree << " disagree\n";
    if (failed_run) return 2;
    return disagree ? 1 : 0;
}

}  // namespace

Runner add_crosscheck(CLI::App& app) {
    auto a = std::make_shared<CrossArgs>();
    auto* sub = app.add_subcommand("crosscheck",
                                   "Run scenarios on a real kernel and in the model (profile of that kernel) and diff them");
    sub->add_flag("--host", a->host, "Run on the running kernel (in a fresh pid namespace; needs root)");
    sub->add_option("--vm", a->vms, "Boot Debian's kernel VERSION (6.1 6.12 7.1 7.2 7.3, or all) under QEMU")
        ->expected(1)
        ->allow_extra_args(false);
    sub->add_flag("--json", a->json, "Print a JSON summary");
    sub->add_flag("-q,--quiet", a->quiet, "Print only disagreements");
    sub->add_option("--markdown", a->markdown, "Also write a Markdown report to this file");
    sub->add_option("--step-timeout-ms", a->step_timeout_ms, "The oracle's per-step settle timeout");
    sub->add_option("--model-kernel", a->model_kernel,
                    "Compare with this model profile instead of the one matching the kernel's version");
    sub->add_option("paths", a->paths, "Scenario files or directories")->required();
    return [a] { return run(*a); };
}

}  // namespace pidlab::cli
