#include "options.hpp"

#include <charconv>
#include <cstdlib>

namespace nexus::tool {

Options::Options(const std::vector<std::string>& args, const std::set<std::string>& valued,
                 const std::set<std::string>& flags) {
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string& arg = args[i];
        if (arg.rfind("--", 0) != 0 || arg.size() == 2) {
            positional_.push_back(arg);
            continue;
        }
        std::string name = arg.substr(2);
        std::string value;
        bool has_value = false;
        if (const auto eq = name.find('='); eq != std::string::npos) {
            value = name.substr(eq + 1);
            name = name.substr(0, eq);
            has_value = true;
        }
        if (flags.count(name) != 0) {
            if (has_value) {
                throw UsageError("--" + name + " takes no value");
            }
            values_[name] = "1";
        } else if (valued.count(name) != 0) {
            if (!has_value) {
                if (i + 1 >= args.size()) {
                    throw UsageError("--" + name + " needs a value");
                }
                value = args[++i];
            }
            values_[name] = value;
        } else {
            throw UsageError("unknown option --" + name);
        }
    }
}

std::string Options::get(const std::string& name, const std::string& fallback) const {
    const auto it = values_.find(name);
    return it == values_.end() ? fallback : it->second;
}

std::uint64_t Options::get_uint(const std::string& name, std::uint64_t fallback, std::uint64_t low,
                                std::uint64_t high) const {
    const auto it = values_.find(name);
    if (it == values_.end()) {
        return fallback;
    }
    std::uint64_t v = 0;
    const std::string& s = it->second;
    const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || ptr != s.data() + s.size() || s.empty() || v < low || v > high) {
        throw UsageError("--" + name + " must be a whole number from " + std::to_string(low) +
                         " to " + std::to_string(high));
    }
    return v;
}

double Options::get_seconds(const std::string& name, double fallback) const {
    const auto it = values_.find(name);
    if (it == values_.end()) {
        return fallback;
    }
    char* end = nullptr;
    const double v = std::strtod(it->second.c_str(), &end);
    if (it->second.empty() || end != it->second.c_str() + it->second.size() || !(v >= 0)) {
        throw UsageError("--" + name + " must be a number of seconds >= 0");
    }
    return v;
}

} // namespace nexus::tool
