namespace SensorPipeline.Domain.Ingest;

/// <summary>
/// The units a raw value is stored in, exactly as its device sent it, and the one conversion to
/// degrees Celsius (what calibration starts from and every read shows beside the raw value). The
/// SQL function <c>reading_celsius(value, unit)</c> (007_payloads.sql) is the same table.
/// </summary>
public static class ReadingUnits
{
    /// <summary>Degrees Celsius (the native format; a null unit means this).</summary>
    public const string Celsius = "degC";

    /// <summary>Hundredths of a degree Fahrenheit (legacy firmware: 7135 = 71.35 °F).</summary>
    public const string HundredthsFahrenheit = "cdegF";

    /// <summary>Hundredths of a degree Celsius (multi-channel frames: 2150 = 21.50 °C).</summary>
    public const string HundredthsCelsius = "cdegC";

    public static bool IsKnown(string? unit) => unit is null or Celsius or HundredthsFahrenheit or HundredthsCelsius;

    /// <summary>The value in degrees Celsius.</summary>
    public static double ToCelsius(double value, string? unit) => unit switch
    {
        null or Celsius => value,
        HundredthsFahrenheit => (value / 100.0 - 32.0) * 5.0 / 9.0,
        HundredthsCelsius => value / 100.0,
        _ => throw new ArgumentOutOfRangeException(nameof(unit), unit, "Unknown unit."),
    };
}
