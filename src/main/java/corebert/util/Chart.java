package corebert.util;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import javax.imageio.ImageIO;
import org.knowm.xchart.AnnotationLine;
import org.knowm.xchart.AnnotationText;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.CategoryChart;
import org.knowm.xchart.CategoryChartBuilder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.internal.chartpart.IChart;
import org.knowm.xchart.style.Styler;
import org.knowm.xchart.style.markers.SeriesMarkers;

/** Charts written as PNG by XChart, headless: benchmark results and run reports. */
public final class Chart {
  static {
    System.setProperty("java.awt.headless", "true"); // before AWT loads: no display here
  }

  // Ten colours, so that a sweep's settings (up to ten) never share one.
  private static final Color[] SERIES = {
    new Color(0x4C72B0),
    new Color(0xDD8452),
    new Color(0x55A868),
    new Color(0xC44E52),
    new Color(0x8172B3),
    new Color(0x937860),
    new Color(0xDA8BC3),
    new Color(0x222222), // not grey: levels are grey
    new Color(0xCCB974),
    new Color(0x64B5CD)
  };
  private static final org.knowm.xchart.style.markers.Marker[] SHAPES = {
    SeriesMarkers.CIRCLE, SeriesMarkers.SQUARE, SeriesMarkers.DIAMOND, SeriesMarkers.TRIANGLE_UP
  };
  // Levels are grey; each has its own stroke so that the legend tells them apart.
  private static final float[][] LEVEL_DASHES = {null, {8, 5}, {2, 4}, {10, 4, 2, 4}};
  private static final int W = 900;
  private static final int H = 580;
  private static final int LEGEND_ROW = 20; // px a vertical legend's entry takes
  private static final int TITLE_MARGIN = 40; // px the title keeps free of the image's edges

  /**
   * One line: points (x[i], y[i]) joined in order; the segments up to point {@code dashedUntil} are
   * dashed. Lines of one {@code series} share a colour, lines of one {@code shape} a marker, and
   * lines of one name a legend entry; bold ones are wider.
   */
  public record Line(
      String name, double[] x, double[] y, int dashedUntil, int series, int shape, boolean bold) {}

  /** A vertical marker at x with a label, e.g. CoRe's phase switch. */
  public record Marker(String label, double x, int series) {}

  /** A horizontal grey level at y with a label, e.g. a target loss. */
  public record Level(String label, double y) {}

  private Chart() {}

  /**
   * A grouped bar chart, each bar labelled with its value.
   *
   * @param groups labels under each group of bars
   * @param series the legend names, one per bar in a group
   * @param values values[group][series]
   */
  public static void bars(
      Path png,
      String title,
      String yLabel,
      List<String> groups,
      List<String> series,
      double[][] values) {
    CategoryChart chart =
        new CategoryChartBuilder().width(W).height(H).title(title).yAxisTitle(yLabel).build();
    style(chart.getStyler());
    chart.getStyler().setLabelsVisible(true);
    chart.getStyler().setDecimalPattern("#,##0.#"); // value labels: full precision overlaps
    chart.getStyler().setXAxisLabelRotation(12); // long group labels side by side overlap
    for (int si = 0; si < series.size(); si++) {
      final int s = si;
      chart.addSeries(series.get(si), groups, Arrays.stream(values).map(row -> row[s]).toList());
    }
    write(chart, png);
  }

  /** A line chart with vertical markers and horizontal levels; the axes span the data. */
  public static void lines(
      Path png,
      String title,
      String xLabel,
      String yLabel,
      List<Line> lines,
      List<Marker> markers,
      List<Level> levels) {
    // The legend is a column under the plot, one row per entry: the image grows by its rows.
    int entries = (int) lines.stream().map(Line::name).distinct().count() + levels.size();
    XYChart chart =
        new XYChartBuilder()
            .width(W)
            .height(H + LEGEND_ROW * entries)
            .title(title)
            .xAxisTitle(xLabel)
            .yAxisTitle(yLabel)
            .build();
    style(chart.getStyler());
    chart.getStyler().setLegendLayout(Styler.LegendLayout.Vertical);
    chart.getStyler().setChartTitleFont(fitted(chart.getStyler().getChartTitleFont(), title));
    double xMax = 1;
    double yMax = -Double.MAX_VALUE;
    for (Line l : lines) {
      for (int i = 0; i < l.x().length; i++) {
        xMax = Math.max(xMax, l.x()[i]);
        yMax = Math.max(yMax, l.y()[i]);
      }
    }
    addLines(chart, lines);
    for (int i = 0; i < levels.size(); i++) {
      Level level = levels.get(i);
      XYSeries s =
          chart.addSeries(
              level.label(), new double[] {0, xMax}, new double[] {level.y(), level.y()});
      s.setLineColor(Color.GRAY);
      float[] dash = LEVEL_DASHES[i % LEVEL_DASHES.length];
      s.setLineStyle(dash == null ? new BasicStroke(1.5f) : dashed(1.5f, dash));
      s.setMarker(SeriesMarkers.NONE);
    }
    for (Marker m : markers) {
      chart.addAnnotation(new AnnotationLine(m.x(), true, false));
      chart.addAnnotation(new AnnotationText(m.label(), m.x(), yMax, false));
    }
    write(chart, png);
  }

  /**
   * {@code font}, made smaller until {@code title} fits the image's width (a long title would be
   * cut at both ends).
   */
  static Font fitted(Font font, String title) {
    Graphics2D g = new BufferedImage(1, 1, BufferedImage.TYPE_INT_RGB).createGraphics();
    try {
      Font f = font;
      while (f.getSize2D() > 8 && g.getFontMetrics(f).stringWidth(title) > W - TITLE_MARGIN) {
        f = f.deriveFont(f.getSize2D() - 0.5f);
      }
      return f;
    } finally {
      g.dispose();
    }
  }

  /** Each line as one or two series (dashed, then solid), one legend entry per name. */
  private static void addLines(XYChart chart, List<Line> lines) {
    Set<String> inLegend = new HashSet<>();
    int part = 0;
    for (Line l : lines) {
      int n = l.x().length;
      if (n == 0) {
        continue;
      }
      Color color = SERIES[l.series() % SERIES.length];
      float width = l.bold() ? 4 : 1.5f;
      // Points 0..cut are joined by dashes (CoRe's relaxed phase), cut..n-1 by a solid line.
      int cut = Math.min(Math.max(l.dashedUntil(), 0), n - 1);
      if (cut > 0) {
        boolean legend = cut == n - 1 && inLegend.add(l.name());
        add(chart, l, 0, cut + 1, dashed(width, new float[] {6, 4}), color, legend, part++);
      }
      if (cut < n - 1 || n == 1) {
        boolean legend = inLegend.add(l.name());
        add(chart, l, cut, n, new BasicStroke(width), color, legend, part++);
      }
    }
  }

  /** Points [from, to) of {@code l} as one series; only a legend entry keeps the line's name. */
  private static void add(
      XYChart chart,
      Line l,
      int from,
      int to,
      BasicStroke stroke,
      Color color,
      boolean legend,
      int part) {
    String name = legend ? l.name() : l.name() + " (" + part + ")";
    XYSeries s =
        chart.addSeries(
            name, Arrays.copyOfRange(l.x(), from, to), Arrays.copyOfRange(l.y(), from, to));
    s.setLineColor(color);
    s.setMarkerColor(color);
    s.setMarker(SHAPES[l.shape() % SHAPES.length]);
    s.setLineStyle(stroke);
    s.setShowInLegend(legend);
  }

  /** A stroke of {@code width} px drawn as {@code pattern}: on, off, on, ... px. */
  private static BasicStroke dashed(float width, float[] pattern) {
    return new BasicStroke(width, BasicStroke.CAP_BUTT, BasicStroke.JOIN_MITER, 10, pattern, 0);
  }

  private static void style(Styler s) {
    s.setChartBackgroundColor(Color.WHITE);
    s.setSeriesColors(SERIES);
    s.setLegendPosition(Styler.LegendPosition.OutsideS);
    s.setLegendLayout(Styler.LegendLayout.Horizontal);
  }

  private static void write(IChart chart, Path png) {
    try {
      ImageIO.write(BitmapEncoder.getBufferedImage(chart), "png", png.toFile());
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write " + png, e);
    }
  }
}
