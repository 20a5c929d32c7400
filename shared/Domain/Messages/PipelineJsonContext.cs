using System.Text.Json;
using System.Text.Json.Serialization;

namespace SensorPipeline.Domain.Messages;

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, UseStringEnumConverter = true)]
[JsonSerializable(typeof(RawReadingMessage))]
[JsonSerializable(typeof(CalibrationRequest))]
public sealed partial class PipelineJsonContext : JsonSerializerContext;
