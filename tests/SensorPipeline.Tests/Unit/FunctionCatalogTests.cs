using System.Reflection;
using Microsoft.AspNetCore.Http;
using SensorPipeline.Runtime.Hosting;

namespace SensorPipeline.Tests.Unit;

/// <summary>
/// Valid functions for <see cref="FunctionCatalogTests"/>. Only valid ones live here: anyone who
/// runs <see cref="FunctionCatalog.Discover"/> over the test assembly finds them too.
/// </summary>
public sealed class UnitTestCatalogFunctions
{
    [Function("UnitTestCatalogHttp")]
    public static IResult Http([HttpTrigger(AuthorizationLevel.Function, "get", Route = "unit-test/{id}")] HttpRequest request, string id) =>
        Results.Ok(id);

    [Function("UnitTestCatalogKafka")]
    public Task Kafka(
        [KafkaTrigger("localhost:9092", "unit-test-topic", ConsumerGroup = "unit-test-group", IsBatched = true)] IReadOnlyList<string> messages,
        CancellationToken cancellationToken) => Task.CompletedTask;

    [Function("UnitTestCatalogTimer")]
    public void Timer([TimerTrigger("0 0 3 * * *")] TimerInfo timer)
    {
    }

    public void NotAFunction(string value)
    {
    }

    [Function("UnitTestCatalogPrivate")]
    private void Private([TimerTrigger("0 0 3 * * *")] TimerInfo timer)
    {
    }
}

public sealed class FunctionCatalogTests
{
    /// <summary>An assembly that holds only the given types, so that functions declared elsewhere
    /// in the test assembly (by other tests) cannot affect these tests.</summary>
    private sealed class TypesOnlyAssembly(params Type[] types) : Assembly
    {
        public override Type[] GetTypes() => types;
    }

    private static IReadOnlyList<FunctionDescriptor> DiscoverOwn() =>
        FunctionCatalog.Discover([new TypesOnlyAssembly(typeof(UnitTestCatalogFunctions), typeof(FunctionCatalogTests))]);

    private static FunctionDescriptor Descriptor(string name) => DiscoverOwn()[0] with { Name = name };

    [Fact]
    public void Discover_finds_public_function_methods_with_their_trigger()
    {
        var found = DiscoverOwn().OrderBy(f => f.Name, StringComparer.Ordinal).ToList();

        Assert.Equal(["UnitTestCatalogHttp", "UnitTestCatalogKafka", "UnitTestCatalogTimer"], found.Select(f => f.Name));
        Assert.All(found, f => Assert.Equal(typeof(UnitTestCatalogFunctions), f.Type));

        var http = found[0];
        Assert.Equal(nameof(UnitTestCatalogFunctions.Http), http.Method.Name);
        Assert.Equal("request", http.TriggerParameter.Name);
        var httpTrigger = Assert.IsType<HttpTriggerAttribute>(http.Trigger);
        Assert.Equal(AuthorizationLevel.Function, httpTrigger.AuthLevel);
        Assert.Equal(["get"], httpTrigger.Methods!);
        Assert.Equal("unit-test/{id}", httpTrigger.Route);

        var kafka = found[1];
        Assert.Equal("messages", kafka.TriggerParameter.Name);
        var kafkaTrigger = Assert.IsType<KafkaTriggerAttribute>(kafka.Trigger);
        Assert.Equal("unit-test-topic", kafkaTrigger.Topic);
        Assert.Equal("unit-test-group", kafkaTrigger.ConsumerGroup);
        Assert.True(kafkaTrigger.IsBatched);

        var timer = found[2];
        Assert.Equal("timer", timer.TriggerParameter.Name);
        Assert.Equal("0 0 3 * * *", Assert.IsType<TimerTriggerAttribute>(timer.Trigger).Schedule);
    }

    [Fact]
    public void Discover_finds_nothing_in_classes_without_function_methods()
    {
        Assert.Empty(FunctionCatalog.Discover([new TypesOnlyAssembly(typeof(FunctionCatalogTests), typeof(string))]));
    }

    [Fact]
    public void Catalog_without_allow_list_enables_every_function_sorted_by_name()
    {
        var catalog = new FunctionCatalog(DiscoverOwn().Reverse(), []);

        Assert.Equal(["UnitTestCatalogHttp", "UnitTestCatalogKafka", "UnitTestCatalogTimer"], catalog.All.Select(f => f.Name));
        Assert.Equal(catalog.All, catalog.Enabled);
    }

    [Fact]
    public void Catalog_allow_list_enables_only_the_named_functions_ignoring_case()
    {
        var catalog = new FunctionCatalog(DiscoverOwn(), ["unittestcatalogKAFKA", "UNITTESTCATALOGTIMER"]);

        Assert.Equal(3, catalog.All.Count);
        Assert.Equal(["UnitTestCatalogKafka", "UnitTestCatalogTimer"], catalog.Enabled.Select(f => f.Name));
    }

    [Fact]
    public void EnabledWith_returns_only_enabled_functions_with_that_trigger()
    {
        var catalog = new FunctionCatalog(DiscoverOwn(), ["UnitTestCatalogKafka", "UnitTestCatalogHttp"]);

        var (function, trigger) = Assert.Single(catalog.EnabledWith<KafkaTriggerAttribute>());
        Assert.Equal("UnitTestCatalogKafka", function.Name);
        Assert.Equal("unit-test-topic", trigger.Topic);
        Assert.Empty(catalog.EnabledWith<TimerTriggerAttribute>());
    }

    [Fact]
    public void Catalog_allow_list_with_unknown_name_throws_naming_it_and_the_known_functions()
    {
        var e = Assert.Throws<InvalidOperationException>(() =>
            new FunctionCatalog(DiscoverOwn(), ["UnitTestCatalogTimer", "UnitTestNoSuchFunction"]));

        Assert.Contains("UnitTestNoSuchFunction", e.Message, StringComparison.Ordinal);
        Assert.Contains("Known: UnitTestCatalogHttp, UnitTestCatalogKafka, UnitTestCatalogTimer.", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("unknown function(s): UnitTestCatalogTimer", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Catalog_with_two_functions_of_the_same_name_throws()
    {
        var e = Assert.Throws<InvalidOperationException>(() =>
            new FunctionCatalog([Descriptor("UnitTestDuplicate"), Descriptor("UnitTestOther"), Descriptor("UnitTestDuplicate")], []));

        Assert.Contains("'UnitTestDuplicate'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Catalog_names_differing_only_in_case_are_duplicates()
    {
        Assert.Throws<InvalidOperationException>(() =>
            new FunctionCatalog([Descriptor("UnitTestDuplicate"), Descriptor("unittestduplicate")], []));
    }
}
