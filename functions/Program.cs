using SensorPipeline.Functions.Hosting;

return await Cli.RunAsync(args);
