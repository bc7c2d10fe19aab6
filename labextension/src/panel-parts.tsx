/** Small pieces every sidebar section shares. */
import * as React from 'react';

/** A section's own error: shown in that section only, so one failing request never blanks the others. */
export function SectionError(props: { error: string | null | undefined }): JSX.Element | null {
  return props.error ? (
    <p className="mlops-error mlops-section-error" role="alert">
      {props.error}
    </p>
  ) : null;
}
