using System.Globalization;
using System.Reflection;
using System.Text.Json;
using System.Text.RegularExpressions;
using YamlDotNet.RepresentationModel;

namespace SensorPipeline.Tests.Deployment;

/// <summary>
/// Checks the Kubernetes/KEDA manifests in keda/base against the app they deploy: the function
/// names found by reflection, the settings in the ConfigMap and local.settings.json.example, the
/// Kafka batch size in host.json (through the derivation stated in docs/SCALING.md) and the
/// Strimzi topics' partition counts. keda/validate/validate.mjs runs the same checks (and the
/// Kubernetes schemas) without .NET.
/// </summary>
public sealed partial class KedaManifestTests
{
    private const string FunctionAttributeFullName = "Microsoft.Azure.Functions.Worker.FunctionAttribute";
    private const string FunctionsAssemblyName = "SensorPipeline.Functions";
    private const string FunctionEnvPrefix = "AzureFunctionsJobHost__functions__";

    // The settings each Kafka-triggered function reads for its topic and consumer group.
    private static readonly Dictionary<string, (string Topic, string Group)> KafkaFunctionSettings = new(StringComparer.Ordinal)
    {
        ["PersistRawReadings"] = ("RawTopic", "PersistRawGroup"),
        ["CalibrateRealtime"] = ("RealtimeTopic", "RealtimeGroup"),
        ["CalibrateHistorical"] = ("HistoricalTopic", "HistoricalGroup"),
    };

    private static readonly Lazy<KedaBase> Manifests = new(() => KedaBase.Load(FindRepoRoot()));

    [Fact]
    public void Every_enabled_function_is_a_known_function()
    {
        var known = DiscoverFunctionNames();
        Assert.NotEmpty(known);

        var deployments = Manifests.Value.Deployments;
        Assert.NotEmpty(deployments);
        Assert.All(deployments, deployment =>
        {
            Assert.NotEmpty(deployment.Functions);
            Assert.All(deployment.Functions, function => Assert.Contains(function, known));
        });
    }

    [Fact]
    public void Function_allow_list_indexes_run_from_zero_without_gaps()
    {
        Assert.All(Manifests.Value.Deployments, deployment =>
            Assert.Equal(Enumerable.Range(0, deployment.Functions.Count), deployment.FunctionIndexes));
    }

    [Fact]
    public void No_function_is_enabled_by_two_deployments()
    {
        // GetStatus (read-only, per pod) is the one exception: the mqtt-bridge Deployment runs a
        // hosted service, not a function, and enables it only because an empty allow-list would
        // enable every function.
        var owners = Manifests.Value.Deployments
            .SelectMany(d => d.Functions.Select(f => (Function: f, Deployment: d.Name)))
            .Where(x => !(x.Function == "GetStatus" && x.Deployment == "mqtt-bridge"))
            .GroupBy(x => x.Function, StringComparer.Ordinal)
            .ToList();

        Assert.NotEmpty(owners);
        Assert.All(owners, group => Assert.Single(group));
    }

    [Fact]
    public void Mosquitto_config_map_carries_the_repo_mosquitto_conf_and_acl_verbatim()
    {
        var root = FindRepoRoot();
        var manifest = File.ReadAllText(Path.Combine(root, "keda", "base", "mosquitto.yaml"));
        var configMap = new YamlDotNet.Serialization.DeserializerBuilder().Build()
            .Deserialize<Dictionary<string, object>>(manifest.Split("\n---\n", 2)[0] + "\n");
        var data = (Dictionary<object, object>)configMap["data"];
        Assert.Equal(File.ReadAllText(Path.Combine(root, "mosquitto", "mosquitto.conf")), (string)data["mosquitto.conf"]);
        Assert.Equal(File.ReadAllText(Path.Combine(root, "mosquitto", "acl")), (string)data["acl"]);
    }

    [Fact]
    public void Mqtt_bridge_deployment_runs_the_bridge_against_the_in_cluster_Mosquitto_while_the_other_pods_run_no_MQTT_door()
    {
        var root = FindRepoRoot();
        var bridge = File.ReadAllText(Path.Combine(root, "keda", "base", "mqtt-bridge.yaml"));
        Assert.Contains("- name: MqttBroker\n              value: mosquitto.sensorpipeline.svc:8883", bridge, StringComparison.Ordinal);
        Assert.Contains("- name: DeviceCaDirectory", bridge, StringComparison.Ordinal);
        Assert.Contains("type: cpu", bridge, StringComparison.Ordinal);
        var configMap = File.ReadAllText(Path.Combine(root, "keda", "base", "configmap.yaml"));
        Assert.Contains("MqttBroker: none", configMap, StringComparison.Ordinal);
        Assert.Equal(["GetStatus"], Manifests.Value.Deployments.Single(d => d.Name == "mqtt-bridge").Functions);
    }

    [Fact]
    public void Every_scaled_object_targets_an_existing_deployment()
    {
        var manifests = Manifests.Value;
        var deploymentNames = manifests.Deployments.Select(d => d.Name).ToHashSet(StringComparer.Ordinal);

        Assert.NotEmpty(manifests.ScaledObjects);
        Assert.All(manifests.ScaledObjects, scaledObject =>
        {
            Assert.Equal("Deployment", scaledObject.TargetKind);
            Assert.Contains(scaledObject.TargetName, deploymentNames);
        });
    }

    [Fact]
    public void Every_kafka_consumer_deployment_has_a_kafka_scaled_object()
    {
        var manifests = Manifests.Value;
        var consumers = manifests.Deployments
            .Where(d => d.Functions.Any(KafkaFunctionSettings.ContainsKey))
            .Select(d => d.Name)
            .ToList();
        var kafkaScaled = manifests.ScaledObjects
            .Where(s => s.KafkaTriggers.Count > 0)
            .Select(s => s.TargetName)
            .ToHashSet(StringComparer.Ordinal);

        Assert.Equal(KafkaFunctionSettings.Count, consumers.Count);
        Assert.All(consumers, name => Assert.Contains(name, kafkaScaled));
    }

    [Fact]
    public void Kafka_triggers_use_the_topic_and_group_their_deployment_reads_from_the_config_map()
    {
        var manifests = Manifests.Value;
        var triggers = KafkaTriggersWithFunction(manifests);

        Assert.NotEmpty(triggers);
        Assert.All(triggers, t =>
        {
            var (topicSetting, groupSetting) = KafkaFunctionSettings[t.Function];
            Assert.Equal(t.Deployment.Settings.GetValueOrDefault(topicSetting), t.Trigger.Topic);
            Assert.Equal(t.Deployment.Settings.GetValueOrDefault(groupSetting), t.Trigger.ConsumerGroup);
            Assert.Equal(t.Deployment.Settings.GetValueOrDefault("KafkaBrokerList"), t.Trigger.BootstrapServers);
        });
    }

    [Fact]
    public void Kafka_trigger_topics_and_groups_equal_the_local_settings_defaults()
    {
        var path = Path.Combine(Manifests.Value.RepoRoot, "local.settings.json.example");
        Assert.True(File.Exists(path), $"{path} is missing");

        using var document = JsonDocument.Parse(File.ReadAllText(path), JsonOptions);
        Assert.True(
            document.RootElement.TryGetProperty("Values", out var values) && values.ValueKind == JsonValueKind.Object,
            "local.settings.json.example has no Values object");

        var triggers = KafkaTriggersWithFunction(Manifests.Value);
        Assert.NotEmpty(triggers);
        Assert.All(triggers, t =>
        {
            var (topicSetting, groupSetting) = KafkaFunctionSettings[t.Function];
            Assert.Equal(StringValue(values, topicSetting), t.Trigger.Topic);
            Assert.Equal(StringValue(values, groupSetting), t.Trigger.ConsumerGroup);
        });
    }

    [Fact]
    public void Kafka_triggers_start_new_groups_at_the_earliest_offset()
    {
        var triggers = Manifests.Value.ScaledObjects.SelectMany(s => s.KafkaTriggers).ToList();

        Assert.NotEmpty(triggers);
        Assert.All(triggers, trigger => Assert.Equal("earliest", trigger.OffsetResetPolicy));
    }

    [Fact]
    public void Lag_thresholds_follow_the_derivation_in_SCALING_md_from_host_json_batch_size()
    {
        var manifests = Manifests.Value;
        var maxBatchSize = ReadMaxBatchSize(manifests.RepoRoot);
        Assert.True(maxBatchSize > 0, "host.json extensions.kafka.maxBatchSize must be positive");

        var multipliers = ReadLagMultipliers(manifests.RepoRoot);
        Assert.NotEmpty(multipliers);

        var kafkaScaled = manifests.ScaledObjects.Where(s => s.KafkaTriggers.Count > 0).ToList();
        Assert.NotEmpty(kafkaScaled);
        Assert.All(kafkaScaled, scaledObject =>
        {
            Assert.True(
                multipliers.TryGetValue(scaledObject.Name, out var multiplier),
                $"docs/SCALING.md states no `lagThreshold = N × maxBatchSize` row for {scaledObject.Name}");
            Assert.All(scaledObject.KafkaTriggers, trigger => Assert.Equal(multiplier * maxBatchSize, trigger.LagThreshold));
        });
    }

    [Fact]
    public void Kafka_trigger_attributes_and_the_pipeline_view_use_the_lag_threshold_of_their_ScaledObject()
    {
        var triggers = KafkaTriggersWithFunction(Manifests.Value);
        var catalog = new SensorPipeline.Runtime.Hosting.FunctionCatalog(
            SensorPipeline.Runtime.Hosting.FunctionCatalog.Discover([Assembly.Load(FunctionsAssemblyName)]), []);
        var thresholds = new SensorPipeline.Functions.OperatorConsole.LagThresholds(catalog, new Microsoft.Extensions.Configuration.ConfigurationBuilder().Build());

        Assert.Equal(KafkaFunctionSettings.Count, triggers.Count);
        Assert.All(triggers, t =>
        {
            var attribute = (SensorPipeline.Worker.Extensions.Kafka.KafkaTriggerAttribute)catalog.All.Single(f => f.Name == t.Function).Trigger;
            Assert.True(t.Trigger.LagThreshold == attribute.LagThreshold,
                $"{t.Function}: [KafkaTrigger(LagThreshold = {attribute.LagThreshold})] but ScaledObject {t.ScaledObject.Name} lagThreshold {t.Trigger.LagThreshold}");
            Assert.Equal(t.Trigger.LagThreshold, thresholds.Of(t.Function));
        });
    }

    [Fact]
    public void Max_replicas_do_not_exceed_the_partitions_of_the_scaled_topic()
    {
        var manifests = Manifests.Value;
        var kafkaScaled = manifests.ScaledObjects.Where(s => s.KafkaTriggers.Count > 0).ToList();

        Assert.NotEmpty(kafkaScaled);
        Assert.All(kafkaScaled, scaledObject => Assert.All(scaledObject.KafkaTriggers, trigger =>
        {
            Assert.True(
                manifests.TopicPartitions.TryGetValue(trigger.Topic, out var partitions),
                $"no Strimzi KafkaTopic for {trigger.Topic}");
            Assert.InRange(scaledObject.MaxReplicaCount, 1, partitions);
        }));
    }

    [Fact]
    public void Every_topic_has_a_dead_letter_topic()
    {
        var topics = Manifests.Value.TopicPartitions.Keys.ToHashSet(StringComparer.Ordinal);
        var main = topics.Where(t => !t.EndsWith(".deadletter", StringComparison.Ordinal)).ToList();

        Assert.Equal(KafkaFunctionSettings.Count, main.Count);
        Assert.All(main, topic => Assert.Contains(topic + ".deadletter", topics));
    }

    // ------------------------------------------------------------------------------------------

    private static readonly JsonDocumentOptions JsonOptions = new()
    {
        CommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
    };

    [GeneratedRegex(@"^\|\s*`(?<name>[a-z0-9-]+)`\s*\|\s*`lagThreshold\s*=\s*(?<multiplier>\d+)\s*[×x*]\s*maxBatchSize`")]
    private static partial Regex DerivationRow();

    private static HashSet<string> DiscoverFunctionNames()
    {
        var assembly = Assembly.Load(FunctionsAssemblyName);
        Type?[] types;
        try
        {
            types = assembly.GetTypes();
        }
        catch (ReflectionTypeLoadException ex)
        {
            types = ex.Types;
        }

        const BindingFlags AllMethods = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance
            | BindingFlags.Static | BindingFlags.DeclaredOnly;
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var type in types)
        {
            if (type is null)
            {
                continue;
            }

            foreach (var method in type.GetMethods(AllMethods))
            {
                foreach (var attribute in method.GetCustomAttributesData())
                {
                    if (attribute.AttributeType.FullName == FunctionAttributeFullName
                        && attribute.ConstructorArguments.Count > 0
                        && attribute.ConstructorArguments[0].Value is string name)
                    {
                        names.Add(name);
                    }
                }
            }
        }

        return names;
    }

    private static List<(ScaledObjectSpec ScaledObject, KafkaTrigger Trigger, DeploymentSpec Deployment, string Function)> KafkaTriggersWithFunction(KedaBase manifests)
    {
        var result = new List<(ScaledObjectSpec ScaledObject, KafkaTrigger Trigger, DeploymentSpec Deployment, string Function)>();
        foreach (var scaledObject in manifests.ScaledObjects.Where(s => s.KafkaTriggers.Count > 0))
        {
            var deployment = manifests.Deployments.SingleOrDefault(d => d.Name == scaledObject.TargetName);
            if (deployment is null)
            {
                Assert.Fail($"ScaledObject {scaledObject.Name} targets missing Deployment {scaledObject.TargetName}");
                continue;
            }

            foreach (var trigger in scaledObject.KafkaTriggers)
            {
                var kafkaFunctions = deployment.Functions.Where(KafkaFunctionSettings.ContainsKey).ToList();
                Assert.True(
                    kafkaFunctions.Count == 1,
                    $"Deployment {deployment.Name} must enable exactly one Kafka function, enables [{string.Join(", ", kafkaFunctions)}]");
                result.Add((scaledObject, trigger, deployment, kafkaFunctions[0]));
            }
        }

        return result;
    }

    private static string? StringValue(JsonElement values, string name) =>
        values.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static int ReadMaxBatchSize(string repoRoot)
    {
        var path = Path.Combine(repoRoot, "host.json");
        Assert.True(File.Exists(path), $"{path} is missing");
        using var document = JsonDocument.Parse(File.ReadAllText(path), JsonOptions);
        if (document.RootElement.TryGetProperty("extensions", out var extensions)
            && extensions.TryGetProperty("kafka", out var kafka)
            && kafka.TryGetProperty("maxBatchSize", out var maxBatchSize)
            && maxBatchSize.TryGetInt32(out var value))
        {
            return value;
        }

        Assert.Fail("host.json has no integer extensions.kafka.maxBatchSize");
        return 0;
    }

    private static Dictionary<string, int> ReadLagMultipliers(string repoRoot)
    {
        var path = Path.Combine(repoRoot, "docs", "SCALING.md");
        Assert.True(File.Exists(path), $"{path} is missing");

        var multipliers = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var line in File.ReadLines(path))
        {
            var match = DerivationRow().Match(line.Trim());
            if (match.Success)
            {
                multipliers[match.Groups["name"].Value] = int.Parse(match.Groups["multiplier"].Value, CultureInfo.InvariantCulture);
            }
        }

        return multipliers;
    }

    private static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "host.json")) && Directory.Exists(Path.Combine(dir.FullName, "keda")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException(
            $"No directory containing host.json and keda/ above {AppContext.BaseDirectory}.");
    }

    // ------------------------------------------------------------------------------------------
    // A small read-only model of keda/base.

    private sealed record DeploymentSpec(
        string Name,
        IReadOnlyList<string> Functions,
        IReadOnlyList<int> FunctionIndexes,
        IReadOnlyDictionary<string, string> Settings);

    private sealed record KafkaTrigger(
        string Topic,
        string ConsumerGroup,
        string BootstrapServers,
        int LagThreshold,
        string OffsetResetPolicy);

    private sealed record ScaledObjectSpec(
        string Name,
        string TargetKind,
        string TargetName,
        int MaxReplicaCount,
        IReadOnlyList<KafkaTrigger> KafkaTriggers);

    private sealed class KedaBase
    {
        // KEDA's default when a ScaledObject sets no maxReplicaCount.
        private const int KedaDefaultMaxReplicas = 100;

        private KedaBase(
            string repoRoot,
            IReadOnlyList<DeploymentSpec> deployments,
            IReadOnlyList<ScaledObjectSpec> scaledObjects,
            IReadOnlyDictionary<string, int> topicPartitions)
        {
            RepoRoot = repoRoot;
            Deployments = deployments;
            ScaledObjects = scaledObjects;
            TopicPartitions = topicPartitions;
        }

        public string RepoRoot { get; }

        public IReadOnlyList<DeploymentSpec> Deployments { get; }

        public IReadOnlyList<ScaledObjectSpec> ScaledObjects { get; }

        public IReadOnlyDictionary<string, int> TopicPartitions { get; }

        public static KedaBase Load(string repoRoot)
        {
            var baseDir = Path.Combine(repoRoot, "keda", "base");
            var objects = Directory
                .EnumerateFiles(baseDir, "*.*", SearchOption.AllDirectories)
                .Where(f => f.EndsWith(".yaml", StringComparison.Ordinal) || f.EndsWith(".yml", StringComparison.Ordinal))
                .Where(f => !Path.GetFileName(f).StartsWith("kustomization.", StringComparison.Ordinal))
                .Order(StringComparer.Ordinal)
                .SelectMany(ReadDocuments)
                .ToList();

            var configMaps = objects
                .Where(o => Str(o, "kind") == "ConfigMap")
                .ToDictionary(o => Required(o, "metadata", "name"), ConfigMapData, StringComparer.Ordinal);

            // The app's Deployments (label app.kubernetes.io/name=sensorpipeline), not Mosquitto's.
            var deployments = objects
                .Where(o => Str(o, "kind") == "Deployment" && Str(o, "metadata", "labels", "app.kubernetes.io/name") == "sensorpipeline")
                .Select(o => ReadDeployment(o, configMaps))
                .ToList();

            var scaledObjects = objects
                .Where(o => Str(o, "kind") == "ScaledObject")
                .Select(ReadScaledObject)
                .ToList();

            var topics = new Dictionary<string, int>(StringComparer.Ordinal);
            foreach (var topic in objects.Where(o => Str(o, "kind") == "KafkaTopic"))
            {
                var name = Str(topic, "spec", "topicName") ?? Required(topic, "metadata", "name");
                topics[name] = Int(topic, "spec", "partitions") ?? 0;
            }

            return new KedaBase(repoRoot, deployments, scaledObjects, topics);
        }

        private static IEnumerable<YamlMappingNode> ReadDocuments(string file)
        {
            var stream = new YamlStream();
            using (var reader = new StreamReader(file))
            {
                stream.Load(reader);
            }

            return stream.Documents.Select(d => d.RootNode).OfType<YamlMappingNode>().ToList();
        }

        private static Dictionary<string, string> ConfigMapData(YamlMappingNode configMap)
        {
            var data = new Dictionary<string, string>(StringComparer.Ordinal);
            if (Child(configMap, "data") is YamlMappingNode map)
            {
                foreach (var (key, value) in map.Children)
                {
                    if (key is YamlScalarNode { Value: { } k } && value is YamlScalarNode { Value: { } v })
                    {
                        data[k] = v;
                    }
                }
            }

            return data;
        }

        private static DeploymentSpec ReadDeployment(YamlMappingNode deployment, IReadOnlyDictionary<string, Dictionary<string, string>> configMaps)
        {
            var functions = new SortedDictionary<int, string>();
            var settings = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var container in Items(Child(Child(Child(Child(deployment, "spec"), "template"), "spec"), "containers")))
            {
                // envFrom first: explicit env entries win, as in Kubernetes.
                foreach (var from in Items(Child(container, "envFrom")))
                {
                    var configMapName = Str(from, "configMapRef", "name");
                    if (configMapName is not null && configMaps.TryGetValue(configMapName, out var data))
                    {
                        var prefix = Str(from, "prefix") ?? string.Empty;
                        foreach (var (key, value) in data)
                        {
                            settings[prefix + key] = value;
                        }
                    }
                }

                foreach (var env in Items(Child(container, "env")))
                {
                    var name = Str(env, "name");
                    if (name is null)
                    {
                        continue;
                    }

                    var value = Str(env, "value") ?? ConfigMapKeyRef(env, configMaps);
                    if (value is null)
                    {
                        continue;
                    }

                    settings[name] = value;
                    if (name.StartsWith(FunctionEnvPrefix, StringComparison.Ordinal)
                        && int.TryParse(name.AsSpan(FunctionEnvPrefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out var index))
                    {
                        functions[index] = value;
                    }
                }
            }

            return new DeploymentSpec(
                Required(deployment, "metadata", "name"),
                functions.Values.ToList(),
                functions.Keys.ToList(),
                settings);
        }

        private static string? ConfigMapKeyRef(YamlNode env, IReadOnlyDictionary<string, Dictionary<string, string>> configMaps)
        {
            var name = Str(env, "valueFrom", "configMapKeyRef", "name");
            var key = Str(env, "valueFrom", "configMapKeyRef", "key");
            return name is not null && key is not null && configMaps.TryGetValue(name, out var data)
                ? data.GetValueOrDefault(key)
                : null;
        }

        private static ScaledObjectSpec ReadScaledObject(YamlMappingNode scaledObject)
        {
            var name = Required(scaledObject, "metadata", "name");
            var triggers = new List<KafkaTrigger>();
            foreach (var trigger in Items(Child(Child(scaledObject, "spec"), "triggers")))
            {
                if (Str(trigger, "type") != "kafka")
                {
                    continue;
                }

                var lagThreshold = Str(trigger, "metadata", "lagThreshold");
                triggers.Add(new KafkaTrigger(
                    Required(trigger, "metadata", "topic"),
                    Required(trigger, "metadata", "consumerGroup"),
                    Required(trigger, "metadata", "bootstrapServers"),
                    int.TryParse(lagThreshold, NumberStyles.None, CultureInfo.InvariantCulture, out var lag)
                        ? lag
                        : throw new InvalidOperationException($"ScaledObject {name}: lagThreshold '{lagThreshold}' is not an integer"),
                    Str(trigger, "metadata", "offsetResetPolicy") ?? "latest"));
            }

            return new ScaledObjectSpec(
                name,
                Str(scaledObject, "spec", "scaleTargetRef", "kind") ?? "Deployment",
                Required(scaledObject, "spec", "scaleTargetRef", "name"),
                Int(scaledObject, "spec", "maxReplicaCount") ?? KedaDefaultMaxReplicas,
                triggers);
        }

        private static YamlNode? Child(YamlNode? node, string key) =>
            node is YamlMappingNode map && map.Children.TryGetValue(new YamlScalarNode(key), out var value) ? value : null;

        private static IEnumerable<YamlNode> Items(YamlNode? node) =>
            node is YamlSequenceNode sequence ? sequence.Children : [];

        private static string? Str(YamlNode? node, params string[] path)
        {
            foreach (var key in path)
            {
                node = Child(node, key);
            }

            return (node as YamlScalarNode)?.Value;
        }

        private static string Required(YamlNode node, params string[] path) =>
            Str(node, path) ?? throw new InvalidOperationException($"missing {string.Join('.', path)} in a keda/base object");

        private static int? Int(YamlNode node, params string[] path) =>
            int.TryParse(Str(node, path), NumberStyles.None, CultureInfo.InvariantCulture, out var value) ? value : null;
    }
}
