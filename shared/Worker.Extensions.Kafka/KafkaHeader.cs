namespace SensorPipeline.Worker.Extensions.Kafka;

/// <summary>
/// One header of a Kafka message, as trigger metadata: <c>Headers</c> (single) or
/// <c>HeadersArray</c> (batched) in <c>FunctionContext.BindingContext.BindingData</c>.
/// </summary>
public sealed record KafkaHeader(string Key, byte[]? Value);
