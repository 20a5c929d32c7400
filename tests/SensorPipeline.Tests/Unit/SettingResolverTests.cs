using Microsoft.Extensions.Configuration;
using SensorPipeline.Runtime.Hosting;

namespace SensorPipeline.Tests.Unit;

public sealed class SettingResolverTests
{
    private static SettingResolver Resolver(params (string Key, string? Value)[] settings) =>
        new(new ConfigurationBuilder()
            .AddInMemoryCollection(settings.Select(s => KeyValuePair.Create(s.Key, s.Value)))
            .Build());

    [Fact]
    public void Resolve_replaces_a_placeholder_with_its_setting()
    {
        var resolver = Resolver(("RawTopic", "temperature.raw"));

        Assert.Equal("temperature.raw", resolver.Resolve("%RawTopic%", "function PersistRawReadings"));
    }

    [Fact]
    public void Resolve_replaces_every_placeholder_in_the_text()
    {
        var resolver = Resolver(("Env", "prod"), ("Topic", "readings"));

        Assert.Equal("prod.readings.prod-group", resolver.Resolve("%Env%.%Topic%.%Env%-group", "function X"));
    }

    [Fact]
    public void Resolve_reads_double_underscore_names_as_sections()
    {
        var resolver = Resolver(("Kafka:Topics:Raw", "temperature.raw"));

        Assert.Equal("temperature.raw", resolver.Resolve("%Kafka__Topics__Raw%", "function X"));
    }

    [Fact]
    public void Resolve_leaves_text_without_placeholders_unchanged()
    {
        var resolver = Resolver();

        Assert.Equal("0 */5 * * * *", resolver.Resolve("0 */5 * * * *", "function X"));
        Assert.Equal("100% sure", resolver.Resolve("100% sure", "function X"));
    }

    [Fact]
    public void Resolve_missing_setting_throws_naming_the_setting_and_its_user()
    {
        var resolver = Resolver(("Other", "x"));

        var e = Assert.Throws<InvalidOperationException>(() => resolver.Resolve("%RealtimeGroup%", "function CalibrateRealtime"));

        Assert.Contains("'RealtimeGroup'", e.Message, StringComparison.Ordinal);
        Assert.Contains("function CalibrateRealtime", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Resolve_empty_setting_is_treated_as_missing()
    {
        var resolver = Resolver(("RawTopic", "  "));

        var e = Assert.Throws<InvalidOperationException>(() => resolver.Resolve("%RawTopic%", "function X"));

        Assert.Contains("'RawTopic'", e.Message, StringComparison.Ordinal);
    }
}
