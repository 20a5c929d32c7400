namespace SensorPipeline.Runtime.Kafka;

/// <summary>Messages in a dead-letter topic (high − low watermark over its partitions).</summary>
public sealed record DeadLetterCount(string Topic, bool Exists, long Messages);
