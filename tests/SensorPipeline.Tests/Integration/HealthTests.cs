using System.Net;
using SensorPipeline.Tests.Infrastructure;

namespace SensorPipeline.Tests.Integration;

/// <summary>Kubernetes probes: live while the process runs; ready only with the database and Kafka reachable.</summary>
[Collection(IntegrationCollection.Name)]
public sealed class HealthTests(TestServers servers)
{
    [Fact]
    public async Task Health_ready_fails_while_kafka_is_unreachable_and_live_stays_up()
    {
        var settings = await PipelineApp.NewSettingsAsync(servers, await servers.CreateDatabaseAsync("health"));
        settings["DatabaseMode"] = "Plain";
        await using (var reachable = await PipelineApp.StartAsync(settings))
        {
            Assert.Equal(HttpStatusCode.OK, (await reachable.Http.GetAsync("/health/ready")).StatusCode);
        }

        // Nothing listens on port 1: the metadata request times out.
        settings["KafkaBrokerList"] = "127.0.0.1:1";
        settings["AzureFunctionsJobHost:functions:0"] = "ListSensors";
        await using var unreachable = await PipelineApp.StartAsync(settings);
        var ready = await unreachable.Http.GetAsync("/health/ready");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await unreachable.Http.GetAsync("/health/live")).StatusCode);
        // The database side still answers.
        Assert.Equal(HttpStatusCode.OK, (await unreachable.Http.GetAsync("/api/sensors")).StatusCode);
    }
}
