//! Month-by-month trends drawn on the server as SVG (plotters), so a page
//! shows and prints them without a script. Coordinates are integers: the
//! month's index and the figure in satang, basis points or a count, exactly
//! as reported; only the axis labels are shortened.

use plotters::prelude::*;
use sajja_edge::web::lang::Lang;

/// What a series counts, for its axis labels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    Satang,
    BasisPoints,
    Count,
}

/// A figure's axis label: baht in thousands or millions, percent, a count.
pub fn axis_label(unit: Unit, lang: Lang, value: i64) -> String {
    match unit {
        Unit::Satang => {
            let baht = value / 100;
            let (million, thousand) = match lang {
                Lang::Th => (" ล้าน", " พัน"),
                Lang::En => ("M", "k"),
            };
            if baht.abs() >= 1_000_000 {
                format!(
                    "{}.{}{million}",
                    baht / 1_000_000,
                    (baht.abs() % 1_000_000) / 100_000
                )
            } else if baht.abs() >= 1_000 {
                format!("{}{thousand}", baht / 1_000)
            } else {
                baht.to_string()
            }
        }
        Unit::BasisPoints => format!("{}%", value / 100),
        Unit::Count => value.to_string(),
    }
}

/// The value range drawn: the data's, padded, and never empty.
fn bounds(values: &[i64]) -> (i64, i64) {
    let lo = values.iter().copied().min().unwrap_or(0).min(0);
    let hi = values.iter().copied().max().unwrap_or(0);
    let span = (hi - lo).max(1);
    (lo, hi + span / 10 + 1)
}

const LINE: RGBColor = RGBColor(0x1b, 0x5e, 0x20);

/// One series as an SVG document of `width` × `height` pixels.
pub fn trend_svg(
    ticks: &[String],
    values: &[i64],
    unit: Unit,
    lang: Lang,
    size: (u32, u32),
) -> String {
    let mut svg = String::new();
    if let Err(error) = draw(&mut svg, ticks, values, unit, lang, size) {
        tracing::warn!(%error, "chart not drawn");
        return String::new();
    }
    svg
}

fn draw(
    svg: &mut String,
    ticks: &[String],
    values: &[i64],
    unit: Unit,
    lang: Lang,
    size: (u32, u32),
) -> Result<(), String> {
    let failed = |e: &dyn std::fmt::Display| e.to_string();
    let root = SVGBackend::with_string(svg, size).into_drawing_area();
    root.fill(&WHITE).map_err(|e| failed(&e))?;
    let last = i32::try_from(values.len()).unwrap_or(i32::MAX).max(2) - 1;
    let (lo, hi) = bounds(values);
    let mut chart = ChartBuilder::on(&root)
        .margin(6)
        .x_label_area_size(20)
        .y_label_area_size(52)
        .build_cartesian_2d(0..last, lo..hi)
        .map_err(|e| failed(&e))?;
    let tick = |x: &i32| {
        usize::try_from(*x)
            .ok()
            .and_then(|i| ticks.get(i))
            .cloned()
            .unwrap_or_default()
    };
    let y_label = |y: &i64| axis_label(unit, lang, *y);
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(ticks.len().min(12))
        .x_label_formatter(&tick)
        .y_labels(4)
        .y_label_formatter(&y_label)
        .label_style(("sans-serif", 11))
        .light_line_style(WHITE)
        .bold_line_style(RGBColor(0xe0, 0xe0, 0xe0))
        .draw()
        .map_err(|e| failed(&e))?;
    let points = values
        .iter()
        .enumerate()
        .map(|(i, v)| (i32::try_from(i).unwrap_or(i32::MAX), *v));
    chart
        .draw_series(LineSeries::new(points.clone(), LINE.stroke_width(2)))
        .map_err(|e| failed(&e))?;
    chart
        .draw_series(points.map(|p| Circle::new(p, 2, LINE.filled())))
        .map_err(|e| failed(&e))?;
    root.present().map_err(|e| failed(&e))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_trend_is_an_svg_with_its_months_and_amounts() {
        let ticks: Vec<String> = ["ม.ค. 69", "ก.พ.", "มี.ค."].map(String::from).to_vec();
        let svg = trend_svg(
            &ticks,
            &[100_000 * 100, 150_000 * 100, 125_000 * 100],
            Unit::Satang,
            Lang::Th,
            (360, 160),
        );
        assert!(svg.starts_with("<svg"), "{svg}");
        assert!(svg.contains("ก.พ."), "month ticks in Thai");
        assert!(svg.contains("<polyline"), "a drawn line");
        assert_eq!(axis_label(Unit::Satang, Lang::En, 1_250_000 * 100), "1.2M");
        assert_eq!(axis_label(Unit::Satang, Lang::Th, 15_000 * 100), "15 พัน");
        assert_eq!(axis_label(Unit::BasisPoints, Lang::Th, 2_065), "20%");
    }
}
