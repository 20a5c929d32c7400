using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using SensorPipeline.Functions.Hosting;
using SensorPipeline.Runtime.Hosting;

namespace SensorPipeline.Tests.Functions;

/// <summary>
/// The composition the program uses when the official Functions host starts it: every function
/// class can be built from its services (the official host's worker builds them per invocation
/// the same way). Built, not run: the worker would connect to a host over gRPC.
/// </summary>
public sealed class OfficialHostCompositionTests
{
    [Fact]
    public void Every_function_class_can_be_built_from_the_official_host_composition()
    {
        var builder = WorkerHost.CreateBuilder([]);
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["KafkaBrokerList"] = "127.0.0.1:9",
            ["TimescaleConnection"] = "Host=127.0.0.1;Port=9;Username=nobody",
            ["DeviceCaDirectory"] = Path.Combine(Path.GetTempPath(), "sp-official-" + Guid.NewGuid().ToString("N")),
        });
        using var host = builder.Build();
        using var scope = host.Services.CreateScope();

        var functions = FunctionCatalog.Discover([typeof(SensorPipelineApp).Assembly]);
        Assert.NotEmpty(functions);
        Assert.All(functions.Select(f => f.Type).Distinct(), type =>
            Assert.NotNull(ActivatorUtilities.CreateInstance(scope.ServiceProvider, type)));
    }
}
