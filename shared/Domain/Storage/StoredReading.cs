using SensorPipeline.Domain.Messages;

namespace SensorPipeline.Domain.Storage;

/// <summary>A reading of a batch that is stored and waits for calibration: its position in the batch and its calibration request.</summary>
public readonly record struct StoredReading(int Index, CalibrationRequest Request);
