using System.Net.Http.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using Npgsql;
using SensorPipeline.Functions.Hosting;

namespace SensorPipeline.Tests.Infrastructure;

/// <summary>
/// The whole function app, started in-process exactly as <c>start</c> composes it, on the test
/// servers, with topics and consumer groups of its own and a free HTTP port.
/// </summary>
public sealed class PipelineApp : IAsyncDisposable
{
    private readonly WebApplication _app;

    private PipelineApp(WebApplication app, Dictionary<string, string?> settings, string connectionString)
    {
        _app = app;
        Settings = settings;
        ConnectionString = connectionString;
        Http = new HttpClient { BaseAddress = new Uri(app.Urls.First()) };
    }

    public HttpClient Http { get; }

    public IReadOnlyDictionary<string, string?> Settings { get; }

    public string ConnectionString { get; }

    public IServiceProvider Services => _app.Services;

    /// <summary>Fresh topics (with dead-letter topics) and groups, for one or more apps to share.</summary>
    public static async Task<Dictionary<string, string?>> NewSettingsAsync(TestServers servers, string connectionString)
    {
        var settings = new Dictionary<string, string?>
        {
            ["TimescaleConnection"] = connectionString,
            ["KafkaBrokerList"] = servers.KafkaBootstrapServers,
            ["KafkaGroupProtocol"] = servers.GroupProtocol,
            ["PersistRawGroup"] = "persist-" + Guid.NewGuid().ToString("N")[..8],
            ["RealtimeGroup"] = "realtime-" + Guid.NewGuid().ToString("N")[..8],
            ["HistoricalGroup"] = "historical-" + Guid.NewGuid().ToString("N")[..8],
            ["AzureFunctionsJobHost:extensions:kafka:retryInitialDelay"] = "00:00:00.050",
            ["AzureFunctionsJobHost:extensions:kafka:retryMaxDelay"] = "00:00:01",
            ["DeviceCaDirectory"] = Path.Combine(Path.GetTempPath(), "sensorpipeline-tests-ca-" + Guid.NewGuid().ToString("N")[..8]),
            ["MqttPort"] = "0",
        };
        foreach (var (setting, prefix) in new[] { ("RawTopic", "raw"), ("RealtimeTopic", "realtime"), ("HistoricalTopic", "historical") })
        {
            var topic = await servers.CreateTopicAsync(prefix);
            await servers.CreateExactTopicAsync(topic + ".deadletter", 1);
            settings[setting] = topic;
        }

        return settings;
    }

    public static Task<PipelineApp> StartAsync(IDictionary<string, string?> settings) => StartAsync(settings, null);

    /// <summary>Starts the app; with <paramref name="logs"/>, every log line it writes is kept there too.</summary>
    public static async Task<PipelineApp> StartAsync(IDictionary<string, string?> settings, TestLogs? logs)
    {
        var builder = SensorPipelineApp.CreateBuilder([], "Development", localSettingsPath: null);
        builder.Configuration.AddInMemoryCollection(settings);
        if (logs is not null)
        {
            builder.Logging.AddProvider(logs);
        }

        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = SensorPipelineApp.Build(builder);
        await app.MigrateAsync(CancellationToken.None);
        await app.StartAsync();
        return new PipelineApp(app, new Dictionary<string, string?>(settings), settings["TimescaleConnection"]!);
    }

    public async Task<HttpResponseMessage> PostReadingsAsync(object body) =>
        await Http.PostAsJsonAsync("/api/readings", body);

    public async Task<long> ScalarAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return Convert.ToInt64(await command.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
    }

    public async Task ExecuteAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    public async Task StopAsync() => await _app.StopAsync();

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
