using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using SensorPipeline.Domain.Messages;
using SensorPipeline.Functions;

namespace SensorPipeline.Tests.Unit;

public sealed class PipelineTelemetryTests
{
    [Fact]
    public void Realtime_latency_histogram_does_not_count_recalibrated_readings()
    {
        var latencies = new ConcurrentBag<double>();
        var paths = new ConcurrentBag<(long Count, string? Path)>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == PipelineTelemetry.MeterName &&
                instrument.Name is "sensorpipeline.calibration.latency" or "sensorpipeline.readings.calibrated")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<double>((_, value, _, _) => latencies.Add(value));
        listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            foreach (var tag in tags)
            {
                if (tag.Key == "sensorpipeline.calibration.path")
                {
                    paths.Add((value, tag.Value as string));
                }
            }
        });
        listener.Start();

        var now = new DateTimeOffset(2026, 12, 1, 0, 0, 0, TimeSpan.Zero);
        // Distinctive ages (other tests may record at the same time): a year-old reading recalibrated, a fresh one calibrated.
        CalibrationRequest Reading(TimeSpan age) => new() { RawDataId = 1, SensorId = "t", RecordedAt = now - age, RawValue = 1, ReceivedAt = now - age };
        PipelineTelemetry.RecordCalibrated([Reading(TimeSpan.FromSeconds(31_536_017))], now, realtime: false);
        PipelineTelemetry.RecordCalibrated([Reading(TimeSpan.FromSeconds(0.123457)), Reading(TimeSpan.FromSeconds(0.123457))], now, realtime: true);

        Assert.DoesNotContain(latencies, v => Math.Abs(v - 31_536_017) < 0.5);
        Assert.Equal(2, latencies.Count(v => Math.Abs(v - 0.123457) < 1e-6));
        Assert.Contains((1L, "historical"), paths);
        Assert.Contains((2L, "realtime"), paths);
    }
}
