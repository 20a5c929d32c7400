using System.Net;
using System.Text;
using SensorPipeline.Tests.Infrastructure;
using static SensorPipeline.Tests.Devices.DeviceTestClient;

namespace SensorPipeline.Tests.Devices;

/// <summary>Without DeviceCaDirectory the device doors are off and say so; keyed HTTP works as before.</summary>
[Collection(IntegrationCollection.Name)]
public sealed class DeviceDoorsOffTests(TestServers servers) : IAsyncLifetime
{
    private PipelineApp _app = null!;

    public async Task InitializeAsync()
    {
        var settings = await PipelineApp.NewSettingsAsync(servers, await servers.CreateDatabaseAsync("doorsoff"));
        settings.Remove("DeviceCaDirectory");
        RequireKeys(settings);
        _app = await PipelineApp.StartAsync(settings);
    }

    public async Task DisposeAsync() => await _app.DisposeAsync();

    [Fact]
    public async Task Enrolment_answers_503_signed_requests_401_and_keyed_requests_still_202()
    {
        var enrol = await PostEnrolAsync(_app, "dev-x");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, enrol.StatusCode);
        Assert.Contains("DeviceCaDirectory", await enrol.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        var signed = await PostSignedAsync(_app, "dev-x", "any-secret", Reading("dev-x", DateTimeOffset.UtcNow.AddMinutes(-1), 20));
        Assert.Equal(HttpStatusCode.Unauthorized, signed.StatusCode);
        Assert.Contains("Signed requests are off", await signed.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        var keyed = new StringContent(Reading("svc-x", DateTimeOffset.UtcNow.AddMinutes(-1), 20), Encoding.UTF8, "application/json");
        Assert.Equal(HttpStatusCode.Accepted, (await _app.Http.PostAsync("/api/readings?code=" + FunctionKey, keyed)).StatusCode);
    }
}
