#include "tests/support/pyyaml.hpp"

#include "base/file_io.hpp"
#include "base/subprocess.hpp"
#include "tests/support/temp_dir.hpp"

#include <boost/json/parse.hpp>

namespace kvmrun::testing {

std::optional<std::string> python_with_yaml() {
  for (const char* python : {"/usr/bin/python3", "python3"}) {
    if (!find_executable(python))
      continue;
    const auto r = run_command({python, "-c", "import yaml"});
    if (r.ok() && r->success())
      return std::string(python);
  }
  return std::nullopt;
}

Result<boost::json::value> pyyaml_load(const std::string& yaml_text) {
  const auto python = python_with_yaml();
  if (!python)
    return Error(ErrorCode::host, "no python3 with PyYAML");
  TempDir dir;
  if (auto w = write_file_atomic(dir / "doc.yaml", yaml_text); !w)
    return std::move(w).error();
  const auto r = run_command({*python, "-c",
                              "import sys, json, yaml\n"
                              "doc = yaml.safe_load(open(sys.argv[1], encoding='utf-8'))\n"
                              "sys.stdout.write(json.dumps(doc, ensure_ascii=True))\n",
                              (dir / "doc.yaml").string()},
                             CommandOptions{std::chrono::milliseconds(30000), 64U << 20U});
  if (!r)
    return r.error();
  if (!r->success())
    return Error(ErrorCode::config, "PyYAML rejected the document: " + r->err);
  boost::system::error_code ec;
  auto value = boost::json::parse(r->out, ec);
  if (ec)
    return Error(ErrorCode::internal, "python printed invalid JSON: " + ec.message());
  return value;
}

} // namespace kvmrun::testing
