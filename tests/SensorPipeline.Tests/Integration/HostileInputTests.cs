using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using SensorPipeline.Tests.Infrastructure;

namespace SensorPipeline.Tests.Integration;

/// <summary>Every kind of bad input gets a clear 4xx and stores nothing (one app, one database for the class).</summary>
[Collection(IntegrationCollection.Name)]
public sealed class HostileInputTests(TestServers servers) : IAsyncLifetime
{
    private PipelineApp _app = null!;

    public async Task InitializeAsync()
    {
        var settings = await PipelineApp.NewSettingsAsync(servers, await servers.CreateDatabaseAsync("hostile"));
        settings["AzureFunctionsJobHost:http:maxRequestBodySize"] = "65536";
        settings["IngestMaxReadingsPerRequest"] = "100";
        settings["IngestMinValue"] = "-60";
        settings["IngestMaxValue"] = "150";
        settings["IngestMaxFutureSkew"] = "00:01:00";
        _app = await PipelineApp.StartAsync(settings);
    }

    public async Task DisposeAsync()
    {
        // Whatever was sent, nothing of it reached the raw topic or the database.
        await Task.Delay(1000);
        Assert.Equal(0, await _app.ScalarAsync("select count(*) from raw_data"));
        Assert.Empty(KafkaTestClient.ReadAll(servers.KafkaBootstrapServers, _app.Settings["RawTopic"]!, 1, TimeSpan.FromSeconds(2)));
        await _app.DisposeAsync();
    }

    private async Task<(HttpStatusCode Status, string Body)> PostRawAsync(string body, string contentType = "application/json")
    {
        using var content = new StringContent(body, Encoding.UTF8);
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue(contentType);
        var response = await _app.Http.PostAsync("/api/readings", content);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    [Theory]
    [InlineData("{\"sensorId\":\"s\",\"recordedAt\":\"2026-01-01T00:00:00Z\",\"value\":1", "not valid JSON")]
    [InlineData("[1, 2]", "must be a JSON object")]
    [InlineData("\"reading\"", "reading object or an array")]
    [InlineData("{\"sensorId\":42,\"recordedAt\":\"2026-01-01T00:00:00Z\",\"value\":1}", "sensorId")]
    [InlineData("{\"recordedAt\":\"2026-01-01T00:00:00Z\",\"value\":1}", "sensorId")]
    [InlineData("{\"sensorId\":\"s\",\"recordedAt\":\"2026-01-01T00:00:00Z\",\"value\":\"NaN\"}", "value")]
    [InlineData("{\"sensorId\":\"s\",\"recordedAt\":\"2026-01-01T00:00:00Z\",\"value\":\"Infinity\"}", "value")]
    [InlineData("{\"sensorId\":\"s\",\"recordedAt\":\"2026-01-01T00:00:00Z\",\"value\":1e400}", "finite")]
    [InlineData("{\"sensorId\":\"s\",\"recordedAt\":\"2026-01-01T00:00:00Z\",\"value\":151}", "between -60 and 150")]
    [InlineData("{\"sensorId\":\"s\",\"recordedAt\":\"2026-01-01T00:00:00Z\",\"value\":-61}", "between -60 and 150")]
    [InlineData("{\"sensorId\":\"s\",\"recordedAt\":\"2026-01-01\",\"value\":1}", "recordedAt")]
    [InlineData("{\"sensorId\":\"s\",\"recordedAt\":1767225600,\"value\":1}", "recordedAt")]
    [InlineData("{\"sensorId\":\"s\",\"recordedAt\":\"2099-01-01T00:00:00Z\",\"value\":1}", "in the future")]
    [InlineData("{\"sensorId\":\"s'; drop table raw_data; --\",\"recordedAt\":\"2026-01-01T00:00:00Z\",\"value\":1}", "sensorId")]
    [InlineData("{\"sensorId\":\"../../etc/passwd\",\"recordedAt\":\"2026-01-01T00:00:00Z\",\"value\":1}", "sensorId")]
    [InlineData("{\"sensorId\":\"s\\u0000x\",\"recordedAt\":\"2026-01-01T00:00:00Z\",\"value\":1}", "sensorId")]
    [InlineData("{\"sensorId\":\"s\\n\",\"recordedAt\":\"2026-01-01T00:00:00Z\",\"value\":1}", "sensorId")]
    [InlineData("{\"sensorId\":\"s\",\"recordedAt\":\"2026-01-01T00:00:00Z\",\"value\":1,\"unit\":\"C\"}", "Unknown field")]
    [InlineData("[]", "no readings")]
    public async Task Bad_reading_is_rejected_with_400_and_the_reason(string body, string reason)
    {
        var (status, text) = await PostRawAsync(body);
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains(reason, text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Too_many_readings_are_rejected_with_400()
    {
        var readings = Enumerable.Range(0, 101).Select(i => new { sensorId = "s", recordedAt = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero).AddSeconds(i).ToString("O"), value = 1 });
        var response = await _app.PostReadingsAsync(readings);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("at most 100", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Body_over_the_size_limit_is_rejected_with_413()
    {
        var (status, text) = await PostRawAsync("[" + string.Join(",", Enumerable.Repeat("{\"sensorId\":\"s\",\"recordedAt\":\"2026-01-01T00:00:00Z\",\"value\":1}", 2000)) + "]");
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, status);
        Assert.Contains("maxRequestBodySize", text, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("text/plain")]
    [InlineData("application/x-www-form-urlencoded")]
    public async Task Wrong_content_type_is_rejected_with_415(string contentType)
    {
        var (status, _) = await PostRawAsync("{\"sensorId\":\"s\",\"recordedAt\":\"2026-01-01T00:00:00Z\",\"value\":1}", contentType);
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, status);
    }

    [Fact]
    public async Task Every_problem_of_a_request_is_listed_by_index_and_field()
    {
        var response = await _app.PostReadingsAsync(new object[]
        {
            new { sensorId = "ok", recordedAt = "2026-01-01T00:00:00Z", value = 1 },
            new { sensorId = "", recordedAt = "yesterday", value = 1000 },
        });
        var errors = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors").EnumerateArray()
            .Select(e => (e.GetProperty("index").GetInt32(), e.GetProperty("field").GetString())).ToList();
        Assert.Equal([(1, "sensorId"), (1, "recordedAt"), (1, "value")], errors);
    }

    [Fact]
    public async Task Unknown_route_and_method_get_404_and_405()
    {
        Assert.Equal(HttpStatusCode.NotFound, (await _app.Http.GetAsync("/api/nothing-here")).StatusCode);
        Assert.Equal(HttpStatusCode.MethodNotAllowed, (await _app.Http.DeleteAsync("/api/readings")).StatusCode);
    }
}
