using System.Net.Http.Json;
using Microsoft.Playwright;
using SensorPipeline.Tests.Infrastructure;

namespace SensorPipeline.Tests.Console;

/// <summary>The app with keys configured (so the dashboard must ask for one), and browser pages on it.</summary>
public static class DashboardApp
{
    public const string MasterKey = "console-master-key";

    public const string ReaderKey = "console-reader-key";

    /// <summary>Starts the pipeline with a master key and a function key; its HttpClient carries the master key.</summary>
    public static async Task<PipelineApp> StartAsync(TestServers servers, string database, Action<Dictionary<string, string?>>? configure = null)
    {
        var settings = await PipelineApp.NewSettingsAsync(servers, await servers.CreateDatabaseAsync(database));
        settings["Keys:Master"] = MasterKey;
        settings["Keys:Function:reader"] = ReaderKey;
        configure?.Invoke(settings);
        var app = await PipelineApp.StartAsync(settings);
        app.Http.DefaultRequestHeaders.Add("x-functions-key", MasterKey);
        return app;
    }

    /// <summary>A fresh browser context (its own sessionStorage) on the app, 1280×900.</summary>
    public static async Task<IPage> NewPageAsync(IBrowser browser, PipelineApp app)
    {
        var context = await browser.NewContextAsync(new() { BaseURL = app.Http.BaseAddress!.ToString(), ViewportSize = new() { Width = 1280, Height = 900 } });
        var page = await context.NewPageAsync();
        page.SetDefaultTimeout(60_000);
        return page;
    }

    /// <summary>Opens the dashboard at <paramref name="hash"/>, answering its key prompt with <paramref name="key"/>.</summary>
    public static async Task<IPage> OpenAsync(IBrowser browser, PipelineApp app, string key, string hash)
    {
        var page = await NewPageAsync(browser, app);
        await page.GotoAsync("/api/dashboard/" + hash);
        await page.Locator("#key-input").FillAsync(key);
        await page.Locator("#key-form button[type=submit]").ClickAsync();
        await page.Locator("main:not([data-page=key])").WaitForAsync();
        return page;
    }

    /// <summary>Readings of one sensor, one a minute from <paramref name="start"/>, with the given values.</summary>
    public static async Task PostSeriesAsync(PipelineApp app, string sensorId, DateTimeOffset start, IReadOnlyList<double> values)
    {
        for (var offset = 0; offset < values.Count; offset += 5000)
        {
            var batch = values.Skip(offset).Take(5000)
                .Select((v, i) => new { sensorId, recordedAt = start.AddMinutes(offset + i).ToString("O"), value = v })
                .ToArray();
            var response = await app.Http.PostAsJsonAsync("/api/readings", batch);
            Assert.Equal(System.Net.HttpStatusCode.Accepted, response.StatusCode);
        }
    }

    public static async Task ScreenshotAsync(IPage page, string name) =>
        await page.ScreenshotAsync(new() { Path = Path.Combine(ChromiumFixture.ScreenshotDirectory, name), FullPage = true });
}
