// `kvmrun report --html` and `--junit` of a real run of two tiny guests, one of which fails its
// ports gate: the page renders in headless Chromium (the timeline's passed and failed bars are
// on the screenshot), and the JUnit file passes xmllint against tests/schemas/junit.xsd and
// names the failed gate with kvmrun's error and the guest's last console lines.
#include "tests/e2e/lab_harness.hpp"
#include "tests/support/png.hpp"

#include <cstdlib>

namespace kvmrun::testing {
namespace {

using namespace std::chrono_literals;

CommandOutput command(const std::string& script) {
  auto r = run_command({"/bin/sh", "-c", script}, CommandOptions{120s, 4U << 20U});
  EXPECT_TRUE(r.ok());
  return r.ok() ? *r : CommandOutput{};
}

// Pixels within a few steps of `rgb` in each channel (anti-aliased edges aside).
std::size_t count_near(const Image& image, std::uint32_t rgb) {
  const auto near = [](std::uint32_t a, std::uint32_t b) {
    for (unsigned shift : {0U, 8U, 16U})
      if (std::abs(static_cast<int>((a >> shift) & 0xFFU) -
                   static_cast<int>((b >> shift) & 0xFFU)) > 6)
        return false;
    return true;
  };
  std::size_t n = 0;
  for (const auto p : image.pixels)
    n += near(p, rgb) ? 1U : 0U;
  return n;
}

TEST(TinyReport, HtmlRendersInChromiumAndJunitNamesTheFailedGate) {
  Lab lab("[lab]\nname = \"rep\"\n" + tiny_image_section() + R"([instances.tiny-1]
image = "tiny"
cpus = 1
memory = "256MiB"
timeouts = { shutdown = "3s" }
[instances.tiny-2]
image = "tiny"
cpus = 1
memory = "256MiB"
timeouts = { shutdown = "3s", network = "3s" }
forwards = [{ host = )" +
          std::to_string(unused_port()) + ", guest = 9 }]\n");
  const auto up = lab.run({"up"});
  ASSERT_EQ(up.exit_code, 8) << up.out << up.err; // tiny-2: nothing serves port 9
  const auto html = lab.state() / "report.html";
  const auto junit = lab.state() / "report.xml";
  const auto written = lab.run({"report", "--html", html.string(), "--junit", junit.string()});
  ASSERT_EQ(written.exit_code, 0) << written.err;
  EXPECT_EQ(written.out, "wrote " + html.string() + "\nwrote " + junit.string() + "\n");

  // Self-contained: nothing is fetched, nothing runs.
  const auto page = *read_file(html);
  for (const char* outside : {"<script", "http://", "https://", "src=", "@import", "url("})
    EXPECT_EQ(page.find(outside), std::string::npos) << outside;
  EXPECT_NE(page.find("<svg"), std::string::npos);
  EXPECT_NE(page.find("gate ports (tiny-2)"), std::string::npos);

  const auto png = lab.state() / "report.png";
  const auto rendered =
      command("chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run "
              "--disable-background-networking --disable-component-update --disable-sync "
              "--hide-scrollbars --force-color-profile=srgb --user-data-dir='" +
              (lab.state() / "chromium").string() + "' --window-size=1200,900 --screenshot='" +
              png.string() + "' 'file://" + html.string() + "' 2>&1");
  ASSERT_EQ(rendered.exit_code, 0) << rendered.out;
  const auto bytes = read_file(png);
  ASSERT_TRUE(bytes.ok()) << rendered.out;
  const auto image = decode_png(*bytes);
  ASSERT_TRUE(image.ok()) << image.error().describe();
  EXPECT_EQ(image->width, 1200U);
  EXPECT_EQ(image->height, 900U);
  const auto white = count_near(*image, 0xFFFFFF);
  EXPECT_LT(white, image->pixels.size() * 97 / 100) << "the page is (nearly) blank";
  EXPECT_GT(count_near(*image, 0x2E7D32), 500U) << "no passed gate on the timeline";
  EXPECT_GT(count_near(*image, 0xC62828), 100U) << "no failed gate on the timeline";

  const auto valid =
      command("xmllint --noout --schema '" KVMRUN_SOURCE_DIR "/tests/schemas/junit.xsd' '" +
              junit.string() + "' 2>&1");
  EXPECT_EQ(valid.exit_code, 0) << valid.out;
  const auto xml = *read_file(junit);
  EXPECT_NE(xml.find("<testsuite name=\"rep/tiny-1\" tests=\""), std::string::npos) << xml;
  EXPECT_NE(xml.find("<testsuite name=\"rep/tiny-2\" tests=\""), std::string::npos) << xml;
  const auto failed = xml.find("<testcase name=\"ports\" classname=\"kvmrun.rep.tiny-2\"");
  ASSERT_NE(failed, std::string::npos) << xml;
  const auto failure = xml.find("<failure message=\"", failed);
  ASSERT_NE(failure, std::string::npos) << xml;
  const auto end = xml.find("</failure>", failure);
  const auto body = xml.substr(failure, end - failure);
  EXPECT_NE(body.find("nothing in the guest answered on port 9"), std::string::npos) << body;
  EXPECT_NE(body.find("the last lines of tiny-2&apos;s serial console:"), std::string::npos)
      << body;
  EXPECT_NE(body.find("kvmrun-ready instance-id="), std::string::npos) << body;
  EXPECT_NE(xml.find("<testcase name=\"provenance\" classname=\"kvmrun.rep.tiny-2\" "
                     "time=\"0.000\">\n      <skipped message=\"not reached"),
            std::string::npos)
      << xml;
  EXPECT_EQ(xml.find("<failure", xml.find("rep/tiny-1")), failure) << "tiny-1 failed nothing";
  EXPECT_EQ(lab.run({"down"}).exit_code, 0);
}

} // namespace
} // namespace kvmrun::testing
