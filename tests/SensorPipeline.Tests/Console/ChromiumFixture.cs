using Microsoft.Playwright;

namespace SensorPipeline.Tests.Console;

/// <summary>
/// Debian's headless Chromium (<c>/usr/bin/chromium</c>, or <c>SENSORPIPELINE_TEST_CHROMIUM</c>)
/// driven by Playwright, one per test class; Playwright downloads no browser. Without the browser
/// the tests fail saying what to install.
/// </summary>
public sealed class ChromiumFixture : IAsyncLifetime
{
    private IPlaywright? _playwright;

    public IBrowser Browser { get; private set; } = null!;

    /// <summary>
    /// Where the tests save a picture of each page: <c>TestResults/screenshots</c> at the repository's
    /// root (ignored by git; <c>SENSORPIPELINE_SCREENSHOTS</c> overrides it). The two in README
    /// (docs/screenshots) are copied from there by hand, so a test run never changes a tracked file.
    /// </summary>
    public static string ScreenshotDirectory
    {
        get
        {
            if (Environment.GetEnvironmentVariable("SENSORPIPELINE_SCREENSHOTS") is { Length: > 0 } given)
            {
                Directory.CreateDirectory(given);
                return given;
            }

            var dir = new DirectoryInfo(AppContext.BaseDirectory);
            while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "SensorPipeline.slnx")))
            {
                dir = dir.Parent;
            }

            var path = Path.Combine(dir?.FullName ?? AppContext.BaseDirectory, "TestResults", "screenshots");
            Directory.CreateDirectory(path);
            return path;
        }
    }

    public async Task InitializeAsync()
    {
        var executable = Environment.GetEnvironmentVariable("SENSORPIPELINE_TEST_CHROMIUM") is { Length: > 0 } given ? given : "/usr/bin/chromium";
        if (!File.Exists(executable))
        {
            Assert.Fail($"The dashboard's browser tests need Chromium at {executable}: apt-get install chromium (or set SENSORPIPELINE_TEST_CHROMIUM).");
        }

        _playwright = await Playwright.CreateAsync();
        Browser = await _playwright.Chromium.LaunchAsync(new() { ExecutablePath = executable, Headless = true, Args = ["--no-sandbox"] });
    }

    public async Task DisposeAsync()
    {
        if (Browser is not null)
        {
            await Browser.CloseAsync();
        }

        _playwright?.Dispose();
    }
}
