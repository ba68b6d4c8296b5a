using System.Globalization;
using System.Text.RegularExpressions;
using OpenQA.Selenium;
using OpenQA.Selenium.Chrome;
using Postbote.IntegrationTests.Infrastructure;

namespace Postbote.IntegrationTests;

/// <summary>The queue page in Debian's headless Chromium, driven by Selenium through Debian's chromedriver: an admin
/// logs in, sees a deferred message (the scripted receiver answered 451), opens its trace, clicks retry, and sees the
/// message delivered and gone from the queue. Screenshots are kept (their paths are printed).</summary>
public sealed class QueuePageBrowserTests(Xunit.Abstractions.ITestOutputHelper output)
{
    [Fact]
    public async Task AdminLogsInSeesADeferredMessageClicksRetryAndSeesItDelivered()
    {
        string dir = Directory.CreateTempSubdirectory("postbote-page-it-").FullName;
        string artefacts = Path.Combine(AppContext.BaseDirectory, "artefacts");
        Directory.CreateDirectory(artefacts);
        try
        {
            using var receiver = await ScriptPeer.StartAsync("aiosmtpd_scripted.py", "127.0.0.1", Path.Combine(dir, "capture.jsonl"),
                "451 4.3.0 not now", "250 2.0.0 taken");
            int adminPort = FreePorts.Next();
            var options = new ServerOptions
            {
                TrustedNetworks = ["127.0.0.0/8"],
                Smarthost = $"[127.0.0.1]:{receiver.Port}",
                AdminPort = adminPort,
                AdminUsers = ["admin@example.com"],
            };
            await using var server = await PostboteServer.StartNewAsync(options, "page");
            await server.AddUserAsync("admin@example.com", "correct horse battery");
            var swaks = await ExternalProcess.RunAsync("swaks",
                ["--server", "127.0.0.1", "--port", server.Port.ToString(CultureInfo.InvariantCulture), "--helo", "client.test",
                 "--from", "a@example.org", "--to", "bob@remote.test", "--timeout", "30"], TimeSpan.FromSeconds(60));
            Assert.True(swaks.ExitCode == 0, swaks.Output);
            string id = Regex.Match(swaks.StandardOutput, "queued as ([0-9A-Z]{16})").Groups[1].Value;
            Assert.True(await server.WaitForLogAsync($"{id}: to=<bob@remote.test>", 1, TimeSpan.FromSeconds(30)), server.Diagnostics());

            var service = ChromeDriverService.CreateDefaultService("/usr/bin", "chromedriver");
            service.SuppressInitialDiagnosticInformation = true;
            var chrome = new ChromeOptions { BinaryLocation = "/usr/bin/chromium" };
            chrome.AddArguments("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1500,900", "--lang=en-GB");
            using var driver = new ChromeDriver(service, chrome, TimeSpan.FromSeconds(60));
            driver.Navigate().GoToUrl($"http://127.0.0.1:{adminPort}/");
            Until(driver, d => d.FindElement(By.Id("login-box")).Displayed, "the login form");
            driver.FindElement(By.Id("user")).SendKeys("admin@example.com");
            driver.FindElement(By.Id("password")).SendKeys("correct horse battery");
            driver.FindElement(By.Id("login-button")).Click();

            // The deferred message, per recipient.
            By row = By.CssSelector($"#queue tbody tr[data-id='{id}']");
            Until(driver, d => d.FindElements(row).Count == 1, "the message's row");
            string[] cells = [];
            Until(driver, d =>
            {
                cells = d.FindElement(row).FindElements(By.TagName("td")).Select(c => c.Text).ToArray();
                return true;
            }, "the row's cells");
            Assert.Equal(id, cells[0]);
            Assert.Equal("<a@example.org>", cells[2]);
            Assert.Equal("bob@remote.test", cells[3]);
            Assert.Equal("deferred", cells[4]);
            Assert.Equal("1", cells[5]);
            Assert.Equal("451 4.3.0 not now", cells[7]);
            Assert.Equal("admin@example.com", driver.FindElement(By.Id("who")).Text);

            // Its trace.
            // The table is drawn anew on every refresh: each click finds its element again.
            Click(driver, By.CssSelector($"#queue tbody tr[data-id='{id}'] a.trace-link"), "the trace link");
            Until(driver, d => TraceRows(d).Length >= 4, "the trace");
            Assert.Equal(["received", "policy", "committed", "attempt"], TraceRows(driver).Select(r => r.Kind));
            Save(driver, Path.Combine(artefacts, "queue-page-deferred.png"));

            // Retry: delivered at once, and the message leaves the queue.
            Click(driver, By.CssSelector($"#queue tbody tr[data-id='{id}'] button.action-retry"), "the retry button");
            Until(driver, d => d.FindElement(By.Id("status")).Text == $"{id}: retry done" || d.FindElements(row).Count == 0, "the retry");
            Until(driver, d =>
            {
                if (d.FindElements(row).Count == 0) return true;
                d.FindElement(By.Id("refresh")).Click();
                return false;
            }, "the message to leave the queue");
            Until(driver, d => d.FindElement(By.Id("status")).Text == "0 message(s) in the queue", "the empty queue");
            // The open trace follows: the retry, the second attempt (delivered), the removal.
            Until(driver, d => TraceRows(d).Length == 7, "the trace after the retry");
            var rows = TraceRows(driver);
            Assert.Equal(["received", "policy", "committed", "attempt", "queue_action", "attempt", "removed"], rows.Select(r => r.Kind));
            Assert.Contains("result=delivered", rows[5].Details, StringComparison.Ordinal);
            Assert.Contains("reply=250 2.0.0 taken", rows[5].Details, StringComparison.Ordinal);
            Assert.Equal("accepted: 1 in the last hour, at most 1 a minute", driver.FindElement(By.CssSelector("#chart-accepted")).FindElement(By.XPath("..")).FindElement(By.TagName("figcaption")).Text);
            Save(driver, Path.Combine(artefacts, "queue-page-after-retry.png"));
            Assert.True(await server.WaitForLogAsync($"{id}: to=<bob@remote.test>, relay=", 2, TimeSpan.FromSeconds(10)), server.Diagnostics());
            Assert.Equal(2, server.LogCount($"{id}: to=<bob@remote.test>, relay="));
            Assert.Equal(1, server.LogCount("status=sent (250 2.0.0 taken)"));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private void Save(ChromeDriver driver, string path)
    {
        driver.GetScreenshot().SaveAsFile(path);
        output.WriteLine("screenshot: " + path);
    }

    /// <summary>The trace table's rows, read in one script (the page redraws the table on every refresh).</summary>
    private static (string Kind, string Details)[] TraceRows(IWebDriver driver) =>
        ((IReadOnlyCollection<object>)((IJavaScriptExecutor)driver).ExecuteScript(
            "return [...document.querySelectorAll('#trace tbody tr')].map(r => r.cells[2].textContent + '\\t' + r.cells[3].textContent)")!)
        .Select(o => ((string)o).Split('\t', 2)).Select(p => (p[0], p[1])).ToArray();

    private static void Click(IWebDriver driver, By by, string what) => Until(driver, d =>
    {
        d.FindElement(by).Click();
        return true;
    }, what);

    /// <summary>Waits up to 20 s, polling every 200 ms.</summary>
    private static void Until(IWebDriver driver, Func<IWebDriver, bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (true)
        {
            try
            {
                if (condition(driver)) return;
            }
            catch (Exception e) when (e is NoSuchElementException or StaleElementReferenceException)
            {
            }
            if (DateTime.UtcNow > deadline) throw new Xunit.Sdk.XunitException($"waited 20 s for {what}; page: {driver.PageSource}");
            Thread.Sleep(200);
        }
    }
}
