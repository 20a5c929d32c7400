namespace SensorPipeline.Functions.OperatorConsole;

/// <summary>One file of the dashboard as served: its bytes, content type and entity tag.</summary>
public sealed record ConsoleAsset(string Name, ReadOnlyMemory<byte> Content, string ContentType, string ETag);
