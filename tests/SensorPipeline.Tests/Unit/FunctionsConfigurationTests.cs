using Microsoft.Extensions.Configuration;
using SensorPipeline.Runtime.Hosting;

namespace SensorPipeline.Tests.Unit;

public sealed class FunctionsConfigurationTests : IDisposable
{
    private readonly DirectoryInfo _folder = Directory.CreateTempSubdirectory("sensorpipeline-unit-config-");

    public void Dispose() => _folder.Delete(recursive: true);

    private string Write(string name, string content)
    {
        var path = Path.Combine(_folder.FullName, name);
        File.WriteAllText(path, content);
        return path;
    }

    private const string HostJson = """
        {
          // Comments are allowed, as in Azure Functions' host.json.
          "version": "2.0",
          /* and block comments */
          "functions": [ "Ingest", "PersistRawReadings", ],
          "http": { "routePrefix": "v1", "maxRequestBodySize": 2048 },
          "extensions": {
            "kafka": { "maxBatchSize": 250, "maxBatchWait": "00:00:00.050", "deadLetterSuffix": ".dlq" },
          },
          "flag": true,
          "nothing": null,
        }
        """;

    [Fact]
    public void ReadHostJson_flattens_nested_objects_and_arrays_under_the_job_host_section()
    {
        var flat = FunctionsConfiguration.ReadHostJson(Write("host.json", HostJson));

        Assert.Equal("2.0", flat["AzureFunctionsJobHost:version"]);
        Assert.Equal("Ingest", flat["AzureFunctionsJobHost:functions:0"]);
        Assert.Equal("PersistRawReadings", flat["AzureFunctionsJobHost:functions:1"]);
        Assert.Equal("v1", flat["AzureFunctionsJobHost:http:routePrefix"]);
        Assert.Equal("2048", flat["AzureFunctionsJobHost:http:maxRequestBodySize"]);
        Assert.Equal("250", flat["AzureFunctionsJobHost:extensions:kafka:maxBatchSize"]);
        Assert.Equal("00:00:00.050", flat["AzureFunctionsJobHost:extensions:kafka:maxBatchWait"]);
        Assert.Equal("true", flat["AzureFunctionsJobHost:flag"]);
        Assert.True(flat.ContainsKey("AzureFunctionsJobHost:nothing"));
        Assert.Null(flat["AzureFunctionsJobHost:nothing"]);
        Assert.Equal(10, flat.Count);
    }

    [Fact]
    public void ReadHostJson_keys_are_case_insensitive()
    {
        var flat = FunctionsConfiguration.ReadHostJson(Write("host.json", HostJson));

        Assert.Equal("250", flat["azurefunctionsjobhost:EXTENSIONS:Kafka:MAXBATCHSIZE"]);
    }

    [Fact]
    public void ReadHostJson_rejects_malformed_json()
    {
        var path = Write("host.json", """{ "version": "2.0" """);

        Assert.ThrowsAny<System.Text.Json.JsonException>(() => FunctionsConfiguration.ReadHostJson(path));
    }

    [Fact]
    public void ReadLocalSettings_turns_double_underscores_into_sections_and_keeps_non_strings_as_json()
    {
        var path = Write("local.settings.json", """
            {
              "IsEncrypted": false,
              "Values": {
                "RawTopic": "temperature.raw",
                "Keys__Function__ingest": "fn-key",
                "AzureFunctionsJobHost__extensions__kafka__maxBatchSize": 7,
                "Enabled": true,
              },
              "Host": { "LocalHttpPort": 7071 }
            }
            """);

        var values = FunctionsConfiguration.ReadLocalSettings(path);

        Assert.Equal(5, values.Count);
        Assert.Equal("temperature.raw", values["RawTopic"]);
        Assert.Equal("fn-key", values["Keys:Function:ingest"]);
        Assert.Equal("7", values["AzureFunctionsJobHost:extensions:kafka:maxBatchSize"]);
        Assert.Equal("true", values["Enabled"]);
        Assert.False(values.ContainsKey("Keys__Function__ingest"));
        // Core Tools' Host section, as `start` reads it (Host.LocalHttpPort is its default port).
        Assert.Equal("7071", values["Host:LocalHttpPort"]);
    }

    [Fact]
    public void ReadLocalSettings_refuses_an_encrypted_file_saying_how_to_decrypt_it()
    {
        var path = Write("local.settings.json", """{ "IsEncrypted": true, "Values": { "RawTopic": "AQAAANCMnd8BFdERjHoAwE" } }""");

        var e = Assert.Throws<InvalidOperationException>(() => FunctionsConfiguration.ReadLocalSettings(path));

        Assert.Contains("func settings decrypt", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ReadLocalSettings_without_values_section_is_empty()
    {
        var path = Write("local.settings.json", """{ "IsEncrypted": false }""");

        Assert.Empty(FunctionsConfiguration.ReadLocalSettings(path));
    }

    [Fact]
    public void AddFunctionsFiles_puts_files_beneath_sources_added_before()
    {
        var host = Write("host.json", HostJson);
        var local = Write("local.settings.json", """
            { "Values": { "RawTopic": "from-local-settings", "OnlyInLocal": "local" } }
            """);

        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["AzureFunctionsJobHost:extensions:kafka:maxBatchSize"] = "999",
                ["RawTopic"] = "from-environment",
            })
            .AddFunctionsFiles(host, local)
            .Build();

        Assert.Equal("999", configuration["AzureFunctionsJobHost:extensions:kafka:maxBatchSize"]);
        Assert.Equal("from-environment", configuration["RawTopic"]);
        Assert.Equal("local", configuration["OnlyInLocal"]);
        Assert.Equal("v1", configuration["AzureFunctionsJobHost:http:routePrefix"]);
    }

    [Fact]
    public void AddFunctionsFiles_local_settings_values_override_host_json()
    {
        var host = Write("host.json", HostJson);
        var local = Write("local.settings.json", """
            { "Values": { "AzureFunctionsJobHost__functions__0": "CalibrateRealtime", "AzureFunctionsJobHost__http__routePrefix": "local" } }
            """);

        var configuration = new ConfigurationBuilder().AddFunctionsFiles(host, local).Build();

        Assert.Equal("CalibrateRealtime", configuration["AzureFunctionsJobHost:functions:0"]);
        Assert.Equal("PersistRawReadings", configuration["AzureFunctionsJobHost:functions:1"]);
        Assert.Equal("local", configuration["AzureFunctionsJobHost:http:routePrefix"]);
    }

    [Fact]
    public void AddFunctionsFiles_ignores_files_that_do_not_exist()
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["A"] = "1" })
            .AddFunctionsFiles(Path.Combine(_folder.FullName, "missing-host.json"), Path.Combine(_folder.FullName, "missing-local.json"))
            .Build();

        Assert.Equal("1", configuration["A"]);
        Assert.Single(configuration.AsEnumerable());
    }

    [Fact]
    public void Host_options_bind_from_the_job_host_section()
    {
        var configuration = new ConfigurationBuilder().AddFunctionsFiles(Write("host.json", HostJson), null).Build();

        var options = new FunctionsHostOptions();
        configuration.GetSection(FunctionsHostOptions.SectionName).Bind(options);

        Assert.Equal(["Ingest", "PersistRawReadings"], options.Functions);
        Assert.Equal("v1", options.Http.RoutePrefix);
        Assert.Equal(2048, options.Http.MaxRequestBodySize);
        Assert.Equal(250, options.Extensions.Kafka.MaxBatchSize);
        Assert.Equal(TimeSpan.FromMilliseconds(50), options.Extensions.Kafka.MaxBatchWait);
        Assert.Equal(".dlq", options.Extensions.Kafka.DeadLetterSuffix);
        // Not in the file: defaults.
        Assert.Equal(5, options.Extensions.Kafka.MaxRetries);
        Assert.Equal(TimeSpan.FromMinutes(5), options.FunctionTimeout);
    }

    [Fact]
    public void Host_options_keep_their_defaults_when_host_json_sets_nothing()
    {
        var configuration = new ConfigurationBuilder().AddFunctionsFiles(Write("host.json", """{ "version": "2.0" }"""), null).Build();

        var options = new FunctionsHostOptions();
        configuration.GetSection(FunctionsHostOptions.SectionName).Bind(options);

        Assert.Empty(options.Functions);
        Assert.Equal("api", options.Http.RoutePrefix);
        Assert.Equal(4 * 1024 * 1024, options.Http.MaxRequestBodySize);
        Assert.Equal(500, options.Extensions.Kafka.MaxBatchSize);
        Assert.Equal(TimeSpan.FromMilliseconds(20), options.Extensions.Kafka.MaxBatchWait);
        Assert.Equal(".deadletter", options.Extensions.Kafka.DeadLetterSuffix);
        Assert.Equal("earliest", options.Extensions.Kafka.AutoOffsetReset);
    }
}
